// Push providers (Firebase, APNs): secrets are shown as the API masks them and are never sent back.

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

type Provider = Record<string, string | boolean | null> & {
  name: string;
  type: string;
  enabled: boolean;
  updated_at: string;
};

const FIELDS: Record<string, string[]> = {
  firebase: ["firebase_credentials", "firebase_host"],
  apn: ["apn_key", "apn_key_id", "apn_team_id", "apn_topic", "apn_host"],
};
const SECRETS = new Set(["firebase_credentials", "apn_key"]);

export function PushProviders(_: ScreenProps) {
  const api = useApi();
  const list = useLoad(() => api.request<{ push_providers: Provider[] }>("GET", "/push_providers"), []);
  const action = useAction();
  const [type, setType] = useState("firebase");
  const [values, setValues] = useState<Record<string, string>>({});

  async function save(): Promise<void> {
    const provider: Record<string, string> = { type };
    for (const name of ["name", ...FIELDS[type]]) if (values[name]?.trim()) provider[name] = values[name].trim();
    if (await action.run(() => api.request("POST", "/push_providers", { push_provider: provider }))) {
      setValues({});
      list.reload();
    }
  }

  async function remove(provider: Provider): Promise<void> {
    const path = `/push_providers/${encodeURIComponent(provider.type)}/${encodeURIComponent(provider.name)}`;
    if (await action.run(() => api.request("DELETE", path))) list.reload();
  }

  const field = (name: string) => action.fields[`push_provider.${name}`];
  return (
    <>
      <Section title="Providers">
        <Problem error={list.error || action.error} />
        <Table testId="push-providers" columns={["name", "type", "enabled", "settings", "updated", ""]}>
          {list.data?.push_providers.map((provider) => (
            <tr data-testid="push-provider" data-name={provider.name}>
              <td>{provider.name}</td>
              <td>{provider.type}</td>
              <td>{provider.enabled ? "yes" : "no"}</td>
              <td class="wrap">
                {Object.entries(provider)
                  .filter(([key, value]) => key.startsWith(`${provider.type}_`) && value !== null)
                  .map(([key, value]) => (
                    <div data-testid={`provider-${key}`}>
                      {key}: <code>{String(value)}</code>
                    </div>
                  ))}
              </td>
              <td>{when(provider.updated_at)}</td>
              <td>
                <button class="danger" onClick={() => void remove(provider)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Add or replace a provider">
        <Form class="dash-form fields" testId="push-provider-form" onSubmit={save}>
          <label>
            <span>type</span>
            <select data-testid="push-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
              <option value="firebase">Firebase</option>
              <option value="apn">APNs</option>
            </select>
          </label>
          {["name", ...FIELDS[type]].map((name) => (
            <label>
              <span>{name}</span>
              {SECRETS.has(name) ? (
                <textarea
                  data-testid={`push-${name}`}
                  rows={3}
                  autoComplete="off"
                  value={values[name] ?? ""}
                  onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })}
                />
              ) : (
                <input
                  data-testid={`push-${name}`}
                  value={values[name] ?? ""}
                  onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })}
                />
              )}
              <FieldError message={field(name)} />
            </label>
          ))}
          <button class="primary" type="submit" data-testid="push-save">
            Save provider
          </button>
        </Form>
      </Section>
    </>
  );
}
