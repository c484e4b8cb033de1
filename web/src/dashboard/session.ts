// The operator's sign-in: the API secret (or an admin user's token) is exchanged once for a server token that
// lasts an hour; only that token is kept, in this tab's storage.

import { CoordinatorApi, type Credentials } from "../weir/api";

const STORAGE_KEY = "weir.dashboard";
const EXPIRY_MARGIN_MS = 30_000;

export interface AdminSession {
  apiKey: string;
  token: string;
  expiresAt: number;
  signedInAs: string;
}

interface SessionResponse {
  token: string;
  expires_in: number;
  signed_in_as: string;
}

async function exchange(credentials: Credentials, body: object): Promise<AdminSession> {
  const answer = await new CoordinatorApi("", credentials).request<SessionResponse>("POST", "/dashboard/session", body);
  const session = {
    apiKey: credentials.apiKey,
    token: answer.token,
    expiresAt: Date.now() + answer.expires_in * 1000,
    signedInAs: answer.signed_in_as,
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export function signInWithSecret(apiKey: string, apiSecret: string): Promise<AdminSession> {
  return exchange({ apiKey, token: "", userId: "" }, { api_secret: apiSecret });
}

/** The browser app's user, if the server knows them as an admin. */
export function signInAsUser(credentials: Credentials): Promise<AdminSession> {
  return exchange(credentials, {});
}

export function storedSession(): AdminSession | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as AdminSession | null;
    return session && session.expiresAt - EXPIRY_MARGIN_MS > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** The API as the server token sees it. */
export function adminApi(session: AdminSession): CoordinatorApi {
  return new CoordinatorApi("", { apiKey: session.apiKey, token: session.token, userId: "" });
}
