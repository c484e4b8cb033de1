// Roles (built-in and custom: create, delete) and the permissions a call type can grant to them.

import { useState } from "preact/hooks";
import { FieldError, Problem, Section, useAction, useApi, useLoad, when, type ScreenProps } from "./common";

interface Role {
  name: string;
  custom: boolean;
  created_at: string | null;
}

interface Permission {
  id: string;
  name: string;
  action: string;
  description: string;
}

export function Roles(_: ScreenProps) {
  const api = useApi();
  const roles = useLoad(() => api.request<{ roles: Role[] }>("GET", "/roles"), []);
  const permissions = useLoad(() => api.request<{ permissions: Permission[] }>("GET", "/permissions"), []);
  const [name, setName] = useState("");
  const action = useAction();

  async function create(): Promise<void> {
    if (await action.run(() => api.request("POST", "/roles", { name: name.trim() }))) {
      setName("");
      roles.reload();
    }
  }

  async function remove(role: string): Promise<void> {
    if (await action.run(() => api.request("DELETE", `/roles/${encodeURIComponent(role)}`))) roles.reload();
  }

  return (
    <>
      <Section title="Roles">
        <Problem error={roles.error || action.error} />
        <table class="dash-table" data-testid="roles">
          <thead>
            <tr>
              <th>name</th>
              <th>kind</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {roles.data?.roles.map((role) => (
              <tr data-testid="role-row" data-name={role.name}>
                <td>{role.name}</td>
                <td>{role.custom ? "custom" : "built-in"}</td>
                <td>{when(role.created_at)}</td>
                <td>
                  {role.custom && (
                    <button class="danger" data-testid="role-delete" onClick={() => void remove(role.name)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <label class="inline">
            New role <input data-testid="role-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <FieldError message={action.fields.name} />
          </label>
          <button class="primary" data-testid="role-create" type="submit" disabled={!name.trim()}>
            Create
          </button>
        </form>
      </Section>
      <Section title="Permissions">
        <Problem error={permissions.error} />
        <table class="dash-table" data-testid="permissions">
          <thead>
            <tr>
              <th>capability</th>
              <th>name</th>
              <th>description</th>
            </tr>
          </thead>
          <tbody>
            {permissions.data?.permissions.map((permission) => (
              <tr>
                <td>
                  <code>{permission.action}</code>
                </td>
                <td>{permission.name}</td>
                <td>{permission.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}
