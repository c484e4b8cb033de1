// What every dashboard screen shares: the API, loading with errors, and the API's field errors on inputs.

import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { WeirError, type CoordinatorApi } from "../weir/api";

export const ApiContext = createContext<CoordinatorApi | null>(null);

export function useApi(): CoordinatorApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error("dashboard screens need ApiContext");
  return api;
}

export interface Loaded<T> {
  data: T | null;
  error: string;
  reload: () => void;
}

/** `load` runs now, whenever `deps` change, on `reload()`, and every `everyMs` when given. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && (setData(value), setError("")),
      (failure: Error) => live && setError(failure.message),
    );
    const timer = everyMs ? setInterval(reload, everyMs) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [...deps, round]);
  return { data, error, reload };
}

/** Runs an action; its error (with the fields the API named) is kept until the next run. */
export function useAction(): {
  run: <T>(action: () => Promise<T>) => Promise<T | undefined>;
  error: string;
  fields: Record<string, string>;
  busy: boolean;
} {
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError("");
    setFields({});
    try {
      return await action();
    } catch (failure) {
      setError((failure as Error).message);
      if (failure instanceof WeirError) setFields(failure.fields);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { run, error, fields, busy };
}

export function Problem({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert" data-testid="dash-error">
      {error}
    </p>
  ) : null;
}

export function FieldError({ message }: { message?: string }) {
  return message ? (
    <span class="field-error" data-testid="field-error">
      {message}
    </span>
  ) : null;
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="dash-section">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function callPath(cid: string, action = ""): string {
  const at = cid.indexOf(":");
  const [type, id] = [cid.slice(0, at), cid.slice(at + 1)];
  return `/video/call/${encodeURIComponent(type)}/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;
}

/** What the shell gives each screen: the path after the screen's name, and ways to move. */
export interface ScreenProps {
  rest: string;
  go: (rest: string) => void;
  open: (screen: string, rest?: string) => void;
}

/** A labelled text input with the API's error for it; secrets are typed unseen and never autofilled. */
export function TextField(props: {
  name: string;
  testId: string;
  value: string;
  onInput: (value: string) => void;
  secret?: boolean;
  error?: string;
}) {
  const common = { "data-testid": props.testId, value: props.value, autoComplete: "off" };
  const onInput = (e: { currentTarget: HTMLInputElement }) => props.onInput(e.currentTarget.value);
  return (
    <label class={props.error ? "invalid" : ""}>
      <span>{props.name}</span>
      {props.secret ? <input type="password" {...common} onInput={onInput} /> : <input {...common} onInput={onInput} />}
      <FieldError message={props.error} />
    </label>
  );
}

/** A table with a header row; an empty column name makes an unlabelled column (for buttons). */
export function Table(props: { columns: string[]; testId?: string; children: ComponentChildren }) {
  return (
    <table class="dash-table" data-testid={props.testId}>
      <thead>
        <tr>
          {props.columns.map((name) => (
            <th>{name}</th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/** A form that stays on the page: submitting runs `onSubmit`. */
export function Form(props: { onSubmit: () => unknown; class?: string; testId?: string; children: ComponentChildren }) {
  return (
    <form
      class={props.class}
      data-testid={props.testId}
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}
