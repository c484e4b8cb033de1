// Roles (built-in and custom: create, delete) and the permissions a call type can grant to them.

import { useState } from "preact/hooks";
import {
  FieldError,
  Form,
  Problem,
  Section,
  Table,
  useAction,
  useApi,
  useLoad,
  when,
  type ScreenProps,
} from "./common";

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
        <Table testId="roles" columns={["name", "kind", "created", ""]}>
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
        </Table>
        <Form class="row" onSubmit={create}>
          <label class="inline">
            New role <input data-testid="role-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
            <FieldError message={action.fields.name} />
          </label>
          <button class="primary" data-testid="role-create" type="submit" disabled={!name.trim()}>
            Create
          </button>
        </Form>
      </Section>
      <Section title="Permissions">
        <Problem error={permissions.error} />
        <Table testId="permissions" columns={["capability", "name", "description"]}>
          {permissions.data?.permissions.map((permission) => (
            <tr>
              <td>
                <code>{permission.action}</code>
              </td>
              <td>{permission.name}</td>
              <td>{permission.description}</td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
