// The app's URLs: `/` (lobby) and `/join/<type>/<id>` (the lobby for one call).

export interface CallRef {
  type: string;
  id: string;
}

export function callFromPath(path = location.pathname): CallRef | null {
  const match = /^\/join\/([^/]+)\/([^/]+)\/?$/.exec(path);
  return match ? { type: decodeURIComponent(match[1]), id: decodeURIComponent(match[2]) } : null;
}

export function joinPath(ref: CallRef): string {
  return `/join/${encodeURIComponent(ref.type)}/${encodeURIComponent(ref.id)}`;
}

export function showPath(path: string): void {
  if (location.pathname !== path) history.pushState(null, "", path + location.search);
}

/** A call id like the server generates: 16 hex characters. */
export function generateCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
