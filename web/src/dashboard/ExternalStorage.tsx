// External storages for recordings: list, add, delete, and "check", which writes a test file and says why it
// could not.

import { useState } from "preact/hooks";
import {
  FieldError,
  Form,
  Problem,
  Section,
  Table,
  TextField,
  useAction,
  useApi,
  useLoad,
  type ScreenProps,
} from "./common";

interface Storage {
  name: string;
  type: string;
  bucket: string;
  path: string;
}

type StorageType = "s3" | "gcs" | "abs";
// Where each type's settings go in the request: the nested object, and its fields.
const NESTED: Record<StorageType, [string | null, string[]]> = {
  s3: ["aws_s3", ["s3_region", "s3_api_key", "s3_secret", "s3_custom_endpoint_url"]],
  abs: [
    "azure_blob",
    [
      "abs_account_name",
      "abs_account_key",
      "abs_client_id",
      "abs_client_secret",
      "abs_tenant_id",
      "abs_custom_endpoint_url",
    ],
  ],
  gcs: [null, ["gcs_credentials", "gcs_custom_endpoint_url"]],
};

export function ExternalStorage(_: ScreenProps) {
  const api = useApi();
  const list = useLoad(
    () => api.request<{ external_storages: Record<string, Storage> }>("GET", "/external_storage"),
    [],
  );
  const action = useAction();
  const [checks, setChecks] = useState<Record<string, { ok: boolean; text: string }>>({});
  const [type, setType] = useState<StorageType>("s3");
  const [values, setValues] = useState<Record<string, string>>({});
  const [group, names] = NESTED[type];

  async function check(name: string): Promise<void> {
    setChecks({ ...checks, [name]: { ok: true, text: "checking…" } });
    try {
      const answer = await api.request<{ file_url: string }>(
        "GET",
        `/external_storage/${encodeURIComponent(name)}/check`,
      );
      setChecks((now) => ({ ...now, [name]: { ok: true, text: `wrote ${answer.file_url}` } }));
    } catch (failure) {
      setChecks((now) => ({ ...now, [name]: { ok: false, text: (failure as Error).message } }));
    }
  }

  async function create(): Promise<void> {
    const settings: Record<string, string> = {};
    for (const name of names) if (values[name]?.trim()) settings[name] = values[name].trim();
    const body: Record<string, unknown> = {
      name: values.name ?? "",
      storage_type: type,
      bucket: values.bucket ?? "",
      path: values.path ?? "",
    };
    Object.assign(body, group ? { [group]: settings } : settings);
    if (await action.run(() => api.request("POST", "/external_storage", body))) {
      setValues({});
      list.reload();
    }
  }

  async function remove(name: string): Promise<void> {
    if (await action.run(() => api.request("DELETE", `/external_storage/${encodeURIComponent(name)}`))) list.reload();
  }

  const input = (name: string, error?: string) => (
    <TextField
      name={name}
      testId={`storage-${name}`}
      secret={/secret|key$/.test(name) && name !== "s3_api_key"}
      value={values[name] ?? ""}
      onInput={(value) => setValues({ ...values, [name]: value })}
      error={error}
    />
  );
  return (
    <>
      <Section title="Storages">
        <Problem error={list.error || action.error} />
        <Table testId="storages" columns={["name", "type", "bucket", "path", "check", ""]}>
          {Object.values(list.data?.external_storages ?? {}).map((storage) => (
            <tr data-testid="storage" data-name={storage.name}>
              <td>{storage.name}</td>
              <td>{storage.type}</td>
              <td>{storage.bucket}</td>
              <td>{storage.path}</td>
              <td class="wrap">
                <button data-testid="storage-check" onClick={() => void check(storage.name)}>
                  Check
                </button>{" "}
                {checks[storage.name] && (
                  <span class={checks[storage.name].ok ? "ok" : "error"} data-testid="storage-check-result">
                    {checks[storage.name].text}
                  </span>
                )}
              </td>
              <td>
                <button class="danger" onClick={() => void remove(storage.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Add a storage">
        <Form class="dash-form fields" testId="storage-form" onSubmit={create}>
          {input("name", action.fields.name)}
          <label>
            <span>storage_type</span>
            <select
              data-testid="storage-type"
              value={type}
              onChange={(e) => setType(e.currentTarget.value as StorageType)}
            >
              <option value="s3">Amazon S3 (or compatible)</option>
              <option value="gcs">Google Cloud Storage</option>
              <option value="abs">Azure Blob Storage</option>
            </select>
          </label>
          {input("bucket", action.fields.bucket)}
          {input("path", action.fields.path)}
          {names.map((name) => input(name, action.fields[group ? `${group}.${name}` : name]))}
          <FieldError message={group ? action.fields[group] : undefined} />
          <button class="primary" type="submit" data-testid="storage-save">
            Add storage
          </button>
        </Form>
      </Section>
    </>
  );
}
