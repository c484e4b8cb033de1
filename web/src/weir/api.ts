// The coordinator's REST API (paths in docs/decisions.md), with the user's token and the app's API key.

import type { CallState, JoinResponse, Reaction } from "./types";

export const API_PREFIX = "/api/v1";

/** An API error body: {code, message, status_code, exception_fields, ...}; `fields` names the bad inputs. */
export class WeirError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: number,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Credentials {
  apiKey: string;
  token: string;
  userId: string;
}

type Query = Record<string, string | undefined>;

async function parse<T>(response: Response): Promise<T> {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new WeirError(
      body.message ?? response.statusText,
      response.status,
      body.code ?? 0,
      body.exception_fields ?? {},
    );
  }
  return body as T;
}

/** Development sign-in (only with `weir serve --dev`). */
export async function devSignIn(baseUrl: string, userId: string): Promise<Credentials> {
  const response = await fetch(`${baseUrl}${API_PREFIX}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId }),
  });
  const body = await parse<{ user_id: string; token: string; api_key: string }>(response);
  return { apiKey: body.api_key, token: body.token, userId: body.user_id };
}

export class CoordinatorApi {
  constructor(
    readonly baseUrl: string,
    readonly credentials: Credentials,
  ) {}

  /** `keepalive` lets a request outlive the page (leaving a call when the tab closes). */
  async request<T>(method: string, path: string, body?: unknown, query: Query = {}, keepalive = false): Promise<T> {
    const url = new URL(`${this.baseUrl}${API_PREFIX}${path}`, location.href);
    url.searchParams.set("api_key", this.credentials.apiKey);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.credentials.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive,
    });
    return parse<T>(response);
  }

  private callPath(cid: string, action = ""): string {
    const [type, id] = splitCid(cid);
    return `/video/call/${encodeURIComponent(type)}/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;
  }

  getOrCreate(cid: string, body: object, connectionId?: string): Promise<CallState> {
    return this.request("POST", this.callPath(cid), body, { connection_id: connectionId });
  }

  get(cid: string, connectionId?: string): Promise<CallState> {
    return this.request("GET", this.callPath(cid), undefined, { connection_id: connectionId });
  }

  join(cid: string, body: object = {}): Promise<JoinResponse> {
    return this.request("POST", this.callPath(cid, "join"), body);
  }

  leave(cid: string, userSessionId: string, keepalive = false): Promise<object> {
    return this.request("POST", this.callPath(cid, "leave"), { user_session_id: userSessionId }, {}, keepalive);
  }

  action(cid: string, action: string, body: object = {}): Promise<object> {
    return this.request("POST", this.callPath(cid, action), body);
  }

  sendReaction(cid: string, type: string, emojiCode: string): Promise<{ reaction: Reaction }> {
    return this.request("POST", this.callPath(cid, "reaction"), { type, emoji_code: emojiCode });
  }
}

export function splitCid(cid: string): [string, string] {
  const at = cid.indexOf(":");
  return [cid.slice(0, at), cid.slice(at + 1)];
}
