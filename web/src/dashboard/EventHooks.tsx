// Event destinations (HTTP webhooks, SQS queues, SNS topics) from the app settings, a test delivery for each,
// and the outbox's delivery log: status, attempts (retries included), the last error, and a retry button.

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
  when,
  type ScreenProps,
} from "./common";

type HookType = "webhook" | "sqs" | "sns";
type Hook = Record<string, unknown> & { id: string; hook_type: HookType; enabled: boolean; event_types: string[] };

interface Delivery {
  id: string;
  endpoint_id: string;
  url: string;
  event_type: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
}

const AWS_FIELDS = ["region", "auth_type", "key", "secret", "role_arn"];
const ADDRESS: Record<HookType, string> = { webhook: "webhook_url", sqs: "sqs_queue_url", sns: "sns_topic_arn" };
const LOG_REFRESH_MS = 1000;

/** A stored hook as PATCH /app takes it back: its own type's fields only (a masked secret keeps the stored one). */
function asRequest(hook: Hook): Record<string, unknown> {
  const own =
    hook.hook_type === "webhook"
      ? ["webhook_url"]
      : [ADDRESS[hook.hook_type], ...AWS_FIELDS.map((f) => `${hook.hook_type}_${f}`)];
  const request: Record<string, unknown> = {
    id: hook.id,
    hook_type: hook.hook_type,
    enabled: hook.enabled,
    event_types: hook.event_types,
  };
  if (hook.timeout_ms != null) request.timeout_ms = hook.timeout_ms;
  for (const name of own) if (hook[name] != null && hook[name] !== "") request[name] = hook[name];
  return request;
}

function destination(hook: Hook): string {
  return String(hook[ADDRESS[hook.hook_type]] ?? "");
}

export function EventHooks(_: ScreenProps) {
  const api = useApi();
  const app = useLoad(() => api.request<{ app: { event_hooks: Hook[] } }>("GET", "/app"), []);
  const log = useLoad(
    () => api.request<{ deliveries: Delivery[] }>("GET", "/app/webhook_deliveries", undefined, { limit: "50" }),
    [],
    LOG_REFRESH_MS,
  );
  const action = useAction();
  const hooks = app.data?.app.event_hooks ?? [];

  async function saveHooks(next: Record<string, unknown>[]): Promise<boolean> {
    const answer = await action.run(() => api.request("PATCH", "/app", { event_hooks: next }));
    if (answer) app.reload();
    return answer !== undefined;
  }

  async function sendTest(hook: Hook): Promise<void> {
    if (await action.run(() => api.request("POST", `/app/event_hooks/${encodeURIComponent(hook.id)}/test`)))
      log.reload();
  }

  async function retry(delivery: Delivery): Promise<void> {
    const path = `/app/webhook_deliveries/${encodeURIComponent(delivery.id)}/retry`;
    if (await action.run(() => api.request("POST", path))) log.reload();
  }

  return (
    <>
      <Section title="Destinations">
        <Problem error={app.error || action.error} />
        <Table testId="event-hooks" columns={["id", "type", "destination", "events", "enabled", ""]}>
          {hooks.map((hook, index) => (
            <tr data-testid="event-hook" data-id={hook.id}>
              <td>{hook.id}</td>
              <td>{hook.hook_type}</td>
              <td class="wrap">
                {destination(hook)}
                {hook.hook_type !== "webhook" && hook[`${hook.hook_type}_secret`] != null && (
                  <small> (secret {String(hook[`${hook.hook_type}_secret`])})</small>
                )}
              </td>
              <td>{hook.event_types.length ? hook.event_types.join(", ") : "all"}</td>
              <td>
                <input
                  type="checkbox"
                  data-testid="event-hook-enabled"
                  checked={hook.enabled}
                  onChange={(e) => {
                    const next = hooks.map(asRequest);
                    next[index].enabled = e.currentTarget.checked;
                    void saveHooks(next);
                  }}
                />
              </td>
              <td class="actions">
                <button data-testid="event-hook-test" disabled={!hook.enabled} onClick={() => void sendTest(hook)}>
                  Send test event
                </button>
                <button
                  class="danger"
                  data-testid="event-hook-delete"
                  onClick={() => void saveHooks(hooks.filter((other) => other.id !== hook.id).map(asRequest))}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </Table>
        <NewHook
          index={hooks.length}
          fields={action.fields}
          onAdd={(hook) => saveHooks([...hooks.map(asRequest), hook])}
        />
      </Section>
      <Section title="Delivery log" actions={<button onClick={log.reload}>Refresh</button>}>
        <Problem error={log.error} />
        <Table
          testId="deliveries"
          columns={["created", "event", "destination", "status", "attempts", "last error", ""]}
        >
          {log.data?.deliveries.map((delivery) => (
            <tr data-testid="delivery" data-id={delivery.id} data-status={delivery.status}>
              <td>{when(delivery.created_at)}</td>
              <td>{delivery.event_type}</td>
              <td class="wrap">
                {delivery.endpoint_id}: {delivery.url}
              </td>
              <td>
                <span class={`badge status-${delivery.status}`} data-testid="delivery-status">
                  {delivery.status}
                </span>
                {delivery.next_attempt_at && <small> next {when(delivery.next_attempt_at)}</small>}
              </td>
              <td data-testid="delivery-attempts">{delivery.attempts}</td>
              <td class="wrap">{delivery.last_error ?? ""}</td>
              <td>
                {delivery.status === "failed" && (
                  <button data-testid="delivery-retry" onClick={() => void retry(delivery)}>
                    Retry
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}

function NewHook(props: {
  index: number;
  fields: Record<string, string>;
  onAdd: (hook: Record<string, unknown>) => Promise<boolean>;
}) {
  const [type, setType] = useState<HookType>("webhook");
  const [values, setValues] = useState<Record<string, string>>({});
  const [events, setEvents] = useState("");
  const prefix = `event_hooks.${props.index}`;
  const problems = Object.entries(props.fields).filter(([name]) => name === prefix || name.startsWith(`${prefix}.`));
  const names = type === "webhook" ? ["webhook_url"] : [ADDRESS[type], ...AWS_FIELDS.map((f) => `${type}_${f}`)];

  async function add(): Promise<void> {
    const hook: Record<string, unknown> = { hook_type: type, enabled: true };
    for (const name of names) if (values[name]?.trim()) hook[name] = values[name].trim();
    hook.event_types = events
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
    if (await props.onAdd(hook)) {
      setValues({});
      setEvents("");
    }
  }

  return (
    <Form class="dash-form fields" testId="new-event-hook" onSubmit={add}>
      <label>
        <span>type</span>
        <select data-testid="hook-type" value={type} onChange={(e) => setType(e.currentTarget.value as HookType)}>
          <option value="webhook">HTTP webhook</option>
          <option value="sqs">AWS SQS queue</option>
          <option value="sns">AWS SNS topic</option>
        </select>
      </label>
      {names.map((name) => (
        <TextField
          name={name}
          testId={`hook-${name}`}
          secret={name.endsWith("_secret")}
          value={values[name] ?? ""}
          onInput={(value) => setValues({ ...values, [name]: value })}
          error={props.fields[`${prefix}.${name}`]}
        />
      ))}
      <label>
        <span>event types (comma-separated; empty: all)</span>
        <input data-testid="hook-event-types" value={events} onInput={(e) => setEvents(e.currentTarget.value)} />
        <FieldError message={props.fields[`${prefix}.event_types`]} />
      </label>
      {problems
        .filter(([name]) => !names.some((field) => name === `${prefix}.${field}`) && name !== `${prefix}.event_types`)
        .map(([, message]) => (
          <FieldError message={message} />
        ))}
      <button class="primary" type="submit" data-testid="hook-add">
        Add destination
      </button>
    </Form>
  );
}
