// Livestreams: the host's view (backstage, go live, stop) and the viewer's (waits for live, then watches).

import { useEffect } from "preact/hooks";
import type { CallSession } from "../weir/session";
import { tilesFor, Warnings } from "./CallScreen";
import { Controls } from "./Controls";
import { useStore } from "./hooks";
import { t } from "./i18n";
import { ParticipantTile } from "./ParticipantTile";

interface Props {
  session: CallSession;
  onLeave: (endForAll?: boolean) => void;
}

/** Viewers (and audio-room listeners) wait outside a backstage call and join once it goes live. */
export function useJoinWhenLive(session: CallSession): void {
  const view = useStore(session.call.state);
  const live = view.call !== null && !view.call.backstage;
  useEffect(() => {
    if (live && view.status === "idle") void session.join().catch(() => undefined);
  }, [live, view.status]);
}

export function LivestreamScreen({ session, onLeave }: Props) {
  const view = useStore(session.call.state);
  const media = useStore(session.media.state);
  useJoinWhenLive(session);
  const host = view.ownCapabilities.includes("update-call");
  const backstage = view.call?.backstage ?? true;
  const creator = view.call?.created_by.id;
  const viewers = view.participants.filter((p) => p.userId !== creator).length;
  const onStage = view.participants.filter((p) => p.video || p.screenShare || p.userId === creator);
  const [main] = tilesFor(onStage, "spotlight", "livestream");

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
