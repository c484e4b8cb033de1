// Where the user's token comes from: the URL, the embedding page, this tab's storage, or dev sign-in.

import type { Credentials } from "../weir/api";

const STORAGE_KEY = "weir.credentials";

/** The user id a JWT names (the app only reads it; the server verifies the signature). */
export function userIdOf(token: string): string {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return String(JSON.parse(atob(payload)).user_id ?? "");
  } catch {
    return "";
  }
}

function fromParams(token: string | null, apiKey: string | null): Credentials | null {
  if (!token || !apiKey) return null;
  const userId = userIdOf(token);
  return userId ? { token, apiKey, userId } : null;
}

/** `?token=…&api_key=…` in the URL; removed from the address bar once read. */
export function credentialsFromUrl(): Credentials | null {
  const params = new URLSearchParams(location.search);
  const found = fromParams(params.get("token"), params.get("api_key"));
  if (found) {
    params.delete("token");
    params.delete("api_key");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  return found;
}

/** An embedding page posts `{type: "weir.auth", token, api_key}` to this frame. */
export function listenForEmbeddedCredentials(use: (credentials: Credentials) => void): () => void {
  const onMessage = (message: MessageEvent) => {
    const data = message.data as { type?: string; token?: string; api_key?: string } | null;
    if (data?.type !== "weir.auth") return;
    const found = fromParams(data.token ?? null, data.api_key ?? null);
    if (found) use(found);
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}

/** Each tab keeps its own sign-in, so two tabs can be two users. */
export function storedCredentials(): Credentials | null {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
  } catch {
    return null;
  }
}

export function storeCredentials(credentials: Credentials | null): void {
  if (credentials) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else sessionStorage.removeItem(STORAGE_KEY);
}
