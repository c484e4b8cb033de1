// Livestreams: the host's view (backstage, go live, stop) and the viewer's (waits for live, then watches).

import { useEffect, useState } from "preact/hooks";
import type { CallSession } from "../weir/session";
import type { CallResponse } from "../weir/types";
import { tilesFor, Warnings } from "./CallScreen";
import { Controls } from "./Controls";
import { HlsPlayer } from "./HlsPlayer";
import { useStore } from "./hooks";
import { t } from "./i18n";
import { ParticipantTile } from "./ParticipantTile";

interface Props {
  session: CallSession;
  onLeave: (endForAll?: boolean) => void;
}

/** Viewers (and audio-room listeners) wait outside a backstage call and join once it goes live (unless
 * ``enabled`` is false: a viewer watching over HLS does not join). */
export function useJoinWhenLive(session: CallSession, enabled = true): void {
  const view = useStore(session.call.state);
  const live = view.call !== null && !view.call.backstage;
  useEffect(() => {
    if (enabled && live && view.status === "idle") void session.join().catch(() => undefined);
  }, [enabled, live, view.status]);
}

/** The HLS master playlist while the call broadcasts to HLS. */
export function hlsPlaylist(call: CallResponse | null): string | null {
  const hls = call?.egress?.hls;
  return hls?.status === "running" ? hls.playlist_url : null;
}

export function LivestreamScreen({ session, onLeave }: Props) {
  const view = useStore(session.call.state);
  const media = useStore(session.media.state);
  const host = view.ownCapabilities.includes("update-call");
  const [hlsFailed, setHlsFailed] = useState(false);
  const playlist = hlsPlaylist(view.call);
  // a viewer who has not joined watches the broadcast over HLS; over WebRTC if there is none or it fails
  const overHls = !host && playlist !== null && !hlsFailed && view.status === "idle";
  useJoinWhenLive(session, !overHls);
  const backstage = view.call?.backstage ?? true;
  const creator = view.call?.created_by.id;
  const viewers = view.participants.filter((p) => p.userId !== creator).length;
  const onStage = view.participants.filter((p) => p.video || p.screenShare || p.userId === creator);
  const [main] = tilesFor(onStage, "spotlight", "livestream");

  if (overHls) {
    return (
      <main class="call livestream" data-testid="livestream-hls" data-call-cid={session.call.cid}>
        <header class="call-header">
          <span class="badge live" data-testid="live-badge">
            {t("live.isLive")}
          </span>
          <button data-testid="leave-call" onClick={() => onLeave(false)}>
            {t("call.leave")}
          </button>
        </header>
        <section class="stage layout-spotlight">
          <div class="spotlight-main">
            <HlsPlayer url={playlist} onFail={() => setHlsFailed(true)} />
          </div>
        </section>
      </main>
    );
  }

  if (view.status === "idle") {
    return (
      <main class="center" data-testid="livestream-waiting">
        <section class="card narrow">
          <h1>{view.call?.cid}</h1>
          <p>{t("live.waiting")}</p>
          <button data-testid="leave-call" onClick={() => onLeave(false)}>
            {t("call.leave")}
          </button>
        </section>
      </main>
    );
  }

  return (
    <main
      class="call livestream"
      data-testid={host ? "livestream-host" : "livestream-viewer"}
      data-call-cid={session.call.cid}
    >
      <header class="call-header">
        {backstage ? (
          <span class="badge" data-testid="backstage-badge">
            {t("live.backstage")}
          </span>
        ) : (
          <span class="badge live" data-testid="live-badge">
            {t("live.isLive")}
          </span>
        )}
        <span data-testid="viewer-count">{t("live.viewers", { count: viewers })}</span>
        {host &&
          (backstage ? (
            <button class="primary" data-testid="go-live" onClick={() => session.call.goLive()}>
              {t("live.goLive")}
            </button>
          ) : (
            <button data-testid="stop-live" onClick={() => session.call.stopLive()}>
              {t("live.stopLive")}
            </button>
          ))}
      </header>
      <Warnings session={session} view={view} />
      <section class="stage layout-spotlight">
        <div class="spotlight-main">
          {main && <ParticipantTile participant={main.participant} kind={main.kind} onSize={session.reportTile} />}
        </div>
      </section>
      {host ? (
        <Controls session={session} view={view} media={media} onLeave={onLeave} />
      ) : (
        <Controls session={session} view={view} media={media} onLeave={onLeave} video={false} />
      )}
    </main>
  );
}
