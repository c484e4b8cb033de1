// The recording layout page, `/layout/<type>/<id>?api_key=…&token=…#<layout settings JSON>`: Weir's composite
// recorder opens it in Chromium and captures the screen. It joins the call without publishing, plays everyone's
// audio and draws the seed's layouts; `name: custom` hands the call to the `external_app_url` app instead.

import { useEffect, useState } from "preact/hooks";
import type { Credentials } from "../weir/api";
import { WeirClient } from "../weir/client";
import { LocalMedia } from "../weir/media";
import { CallSession } from "../weir/session";
import { credentialsFromUrl } from "../ui/auth";
import { RemoteAudio } from "../ui/RemoteAudio";
import { callFromPath, type CallRef } from "../ui/route";
import { Stage } from "./Stage";
import type { LayoutSettings } from "./options";
import "./layout.css";

type LayoutRef = CallRef;

/** `/layout/<type>/<id>` is the join path with another first segment. */
export function layoutFromPath(path = location.pathname): LayoutRef | null {
  return path.startsWith("/layout/") ? callFromPath(path.replace(/^\/layout\//, "/join/")) : null;
}

function settingsFromHash(): LayoutSettings {
  try {
    return JSON.parse(decodeURIComponent(location.hash.slice(1)) || "{}") as LayoutSettings;
  } catch {
    return {};
  }
}

/** A custom layout app gets the call and the recorder's credentials as query parameters. */
export function customAppUrl(app: string, ref: LayoutRef, credentials: Credentials): string {
  const url = new URL(app, location.href);
  const params = {
    call_type: ref.type,
    call_id: ref.id,
    api_key: credentials.apiKey,
    token: credentials.token,
    base_url: location.origin,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

type Status = "joining" | "joined" | "failed";

export function LayoutPage({ at }: { at: LayoutRef }) {
  const [settings] = useState(settingsFromHash); // before the credentials: taking them off the URL drops the hash
  const [credentials] = useState<Credentials | null>(() => credentialsFromUrl());
  const [session, setSession] = useState<CallSession | null>(null);
  const [status, setStatus] = useState<Status>("joining");
  const custom = settings.name === "custom" && settings.external_app_url;

  useEffect(() => {
    if (!credentials) return setStatus("failed");
    if (custom) return location.replace(customAppUrl(settings.external_app_url!, at, credentials));
    const client = new WeirClient("", credentials, {});
    let current: CallSession | null = null;
    client
      .connect()
      .then(async () => {
        current = new CallSession(client.call(at.type, at.id), new LocalMedia());
        await current.call.refresh(); // watch the call: who joins later arrives as events
        await current.join({ create: false });
        setSession(current);
        setStatus("joined");
      })
      .catch(() => setStatus("failed"));
    return () => {
      void current?.leave();
      current?.dispose();
      client.close();
    };
  }, []);

  useEffect(() => {
    if (!settings.external_css_url) return;
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = settings.external_css_url;
    document.head.appendChild(link);
    return () => link.remove();
  }, []);

  return (
    <div class="recording-layout" data-testid="recording-layout" data-status={status}>
      {session && <Stage session={session} settings={settings} />}
      {session && <RemoteAudio session={session} />}
    </div>
  );
}
