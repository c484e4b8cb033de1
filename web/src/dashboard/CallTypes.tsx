// Call types: every setting as a field, the grants as a role × capability grid; the API's validation errors
// appear on the fields they name.

import { useState } from "preact/hooks";
import { FieldError, Form, Problem, Section, useAction, useApi, useLoad, type ScreenProps } from "./common";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Settings = { [key: string]: Json };

interface CallType {
  name: string;
  settings: Settings;
  grants: Record<string, string[]>;
}

/** Leaves of the settings tree as `audio.mic_default_on` → value (lists and null count as leaves). */
function leaves(tree: Settings, prefix = ""): [string, Json][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? leaves(value, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value] as [string, Json]],
  );
}

function nested(edits: Record<string, Json>): Settings {
  const root: Settings = {};
  for (const [path, value] of Object.entries(edits)) {
    const keys = path.split(".");
    let node = root;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Settings;
    node[keys[keys.length - 1]] = value;
  }
  return root;
}

/** What an input's text means for a setting that was `before`: numbers and JSON stay typed when they parse. */
function typed(text: string, before: Json): Json {
  if (typeof before === "number" || (before === null && /^-?\d+(\.\d+)?$/.test(text))) {
    return text.trim() !== "" && !isNaN(Number(text)) ? Number(text) : text;
  }
  if (Array.isArray(before) || (before === null && /^[[{]/.test(text))) {
    try {
      return JSON.parse(text) as Json;
    } catch {
      return text;
    }
  }
  return before === null && text === "" ? null : text;
}

export function CallTypes(_: ScreenProps) {
  const api = useApi();
  const types = useLoad(() => api.request<{ call_types: Record<string, CallType> }>("GET", "/video/calltypes"), []);
  const roles = useLoad(() => api.request<{ roles: { name: string }[] }>("GET", "/roles"), []);
  const permissions = useLoad(
    () => api.request<{ permissions: { action: string; name: string }[] }>("GET", "/permissions"),
    [],
  );
  const [chosen, setChosen] = useState("default");
  const type = types.data?.call_types[chosen];
  return (
    <>
      <Problem error={types.error || roles.error || permissions.error} />
      <label class="inline">
        Call type{" "}
        <select data-testid="calltype-select" value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
          {Object.keys(types.data?.call_types ?? {}).map((name) => (
            <option value={name}>{name}</option>
          ))}
        </select>
      </label>
      {type && roles.data && permissions.data && (
        <CallTypeEditor
          key={type.name}
          type={type}
          roles={roles.data.roles.map((role) => role.name)}
          capabilities={permissions.data.permissions.map((permission) => permission.action)}
          onSaved={types.reload}
        />
      )}
    </>
  );
}

function CallTypeEditor(props: { type: CallType; roles: string[]; capabilities: string[]; onSaved: () => void }) {
  const api = useApi();
  const { type } = props;
  const [edits, keepEdits] = useState<Record<string, Json>>({});
  const [grants, keepGrants] = useState<Record<string, string[]>>({});
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const setEdits = (next: Record<string, Json>) => (keepEdits(next), setSaved(false));
  const setGrants = (next: Record<string, string[]>) => (keepGrants(next), setSaved(false));
  const groups = new Map<string, [string, Json][]>();
  for (const [path, value] of leaves(type.settings)) {
    const group = path.split(".")[0];
    groups.set(group, [...(groups.get(group) ?? []), [path, value]]);
  }

  async function submit(): Promise<void> {
    const body: Record<string, unknown> = {};
    if (Object.keys(edits).length) body.settings = nested(edits);
    if (Object.keys(grants).length) body.grants = grants;
    const answer = await save.run(() => api.request("PUT", `/video/calltypes/${encodeURIComponent(type.name)}`, body));
    if (answer) {
      setEdits({});
      setGrants({});
      props.onSaved();
      setSaved(true);
    }
  }

  const fieldError = (path: string) => save.fields[`settings.${path}`];
  return (
    <Form class="dash-form" testId="calltype-form" onSubmit={submit}>
      <Section title="Settings">
        {[...groups].map(([group, fields]) => (
          <details open={group === "audio" || fields.some(([path]) => fieldError(path) || path in edits)}>
            <summary data-testid={`group-${group}`}>{group}</summary>
            <div class="fields">
              {fields.map(([path, value]) => {
                const current = path in edits ? edits[path] : value;
                const label = path.slice(group.length + 1);
                return (
                  <label class={fieldError(path) ? "invalid" : ""} data-field={path}>
                    <span>{label}</span>
                    {typeof value === "boolean" ? (
                      <input
                        type="checkbox"
                        data-testid={`setting-${path}`}
                        checked={current === true}
                        onChange={(e) => setEdits({ ...edits, [path]: e.currentTarget.checked })}
                      />
                    ) : (
                      <input
                        data-testid={`setting-${path}`}
                        value={typeof current === "string" ? current : JSON.stringify(current)}
                        onInput={(e) => setEdits({ ...edits, [path]: typed(e.currentTarget.value, value) })}
                      />
                    )}
                    <FieldError message={fieldError(path)} />
                  </label>
                );
              })}
            </div>
          </details>
        ))}
      </Section>
      <Section title="Grants">
        <FieldError message={Object.entries(save.fields).find(([name]) => name.startsWith("grants"))?.[1]} />
        <div class="table-scroll">
          <table class="grid-table" data-testid="grants">
            <thead>
              <tr>
                <th>capability</th>
                {props.roles.map((role) => (
                  <th>{role}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.capabilities.map((capability) => (
                <tr>
                  <td>{capability}</td>
                  {props.roles.map((role) => {
                    const list = grants[role] ?? type.grants[role] ?? [];
                    return (
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`${role} ${capability}`}
                          data-testid={`grant-${role}-${capability}`}
                          checked={list.includes(capability)}
                          onChange={(e) =>
                            setGrants({
                              ...grants,
                              [role]: e.currentTarget.checked
                                ? [...list, capability]
                                : list.filter((item) => item !== capability),
                            })
                          }
                        />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <div class="row sticky-actions">
        <button class="primary" type="submit" data-testid="calltype-save" disabled={save.busy}>
          Save {type.name}
        </button>
        {saved && <span data-testid="calltype-saved">Saved</span>}
        <Problem error={save.error} />
      </div>
    </Form>
  );
}
