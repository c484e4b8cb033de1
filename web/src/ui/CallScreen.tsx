// The active-call screen (the seed's StreamCallContent): header, participants in grid or spotlight layout,
// warnings, controls, and the participants panel.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { CallView } from "../weir/call";
import { presetFor, type Layout, type Participant } from "../weir/participants";
import type { CallSession, TrackKind } from "../weir/session";
import { CaptionsControls, CaptionsOverlay, useCaptions } from "./Captions";
import { Controls } from "./Controls";
import { useStore } from "./hooks";
import { t } from "./i18n";
import { ParticipantTile } from "./ParticipantTile";
import { ParticipantsPanel, PermissionRequests } from "./ParticipantsPanel";
import { RecordingIndicator } from "./Recording";

interface Props {
  session: CallSession;
  onLeave: (endForAll?: boolean) => void;
}

interface Tile {
  participant: Participant;
  kind: TrackKind;
}

/** Screen shares become tiles of their own, ahead of the people, in the order the layout's preset gives. */
export function tilesFor(participants: Participant[], layout: Layout, callType: string): Tile[] {
  const sorted = [...participants].sort(presetFor(layout, callType));
  const screens = sorted
    .filter((p) => p.screenShare)
    .map((participant) => ({ participant, kind: "screen_share" as const }));
  return [...screens, ...sorted.map((participant) => ({ participant, kind: "video" as const }))];
}

export function CallScreen({ session, onLeave }: Props) {
  const view = useStore(session.call.state);
  const media = useStore(session.media.state);
  const [layout, setLayout] = useState<Layout>("grid");
  const [panel, setPanel] = useState(false);
  const captions = useCaptions(session);
  const tiles = tilesFor(view.participants, layout, session.call.type);
  const [main, ...rest] = tiles;
  return (
    <main
      class={`call ${panel ? "with-panel" : ""}`}
      data-testid="call-screen"
      data-call-cid={session.call.cid}
      data-layout={layout}
    >
      <CallHeader view={view}>
        <CaptionsControls session={session} captions={captions} />
      </CallHeader>
      <Warnings session={session} view={view} />
      <PermissionRequests session={session} view={view} />
      <section class={`stage layout-${layout}`} data-testid={`layout-${layout}`}>
        {layout === "grid" ? (
          <div class={`grid n${Math.min(tiles.length, 9)}`}>
            {tiles.map((tile) => (
              <ParticipantTile
                key={`${tile.participant.sessionId}:${tile.kind}`}
                participant={tile.participant}
                kind={tile.kind}
                onSize={session.reportTile}
              />
            ))}
          </div>
        ) : (
          <>
            <div class="spotlight-main">
              {main && <ParticipantTile participant={main.participant} kind={main.kind} onSize={session.reportTile} />}
            </div>
            <div class="strip">
              {rest.map((tile) => (
                <ParticipantTile
                  key={`${tile.participant.sessionId}:${tile.kind}`}
                  participant={tile.participant}
                  kind={tile.kind}
                  onSize={session.reportTile}
                />
              ))}
            </div>
          </>
        )}
        {view.participants.length === 1 && <p class="hint">{t("call.waitingForOthers")}</p>}
        <CaptionsOverlay captions={captions} />
      </section>
      {panel && <ParticipantsPanel session={session} view={view} />}
      <Controls
        session={session}
        view={view}
        media={media}
        layout={layout}
        onLayout={setLayout}
        onParticipants={() => setPanel(!panel)}
        onLeave={onLeave}
      />
    </main>
  );
}

export function CallHeader({ view, children }: { view: CallView; children?: ComponentChildren }) {
  const started = view.call?.session?.started_at;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const seconds = started ? Math.max(0, Math.floor((now - Date.parse(started)) / 1000)) : 0;
  const time = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  return (
    <header class="call-header">
      <span class="cid" data-testid="call-cid">
        {view.call?.cid}
      </span>
      {started && <span data-testid="call-duration">{t("call.duration", { time })}</span>}
      <RecordingIndicator view={view} />
      {children}
    </header>
  );
}

/** "Speaking while muted", a bad network, and notices such as being muted by a moderator. */
export function Warnings({ session, view }: { session: CallSession; view: CallView }) {
  const media = useStore(session.media.state);
  const local = view.participants.find((p) => p.isLocal);
  const [mutedBy] = view.notice.startsWith("muted:") ? [view.notice.slice(6)] : [""];
  return (
    <div class="warnings" aria-live="polite">
      {session.media.speakingWhileMuted && media.micStream && (
        <p class="warning" data-testid="speaking-while-muted">
          {t("call.speakingWhileMuted")}
        </p>
      )}
      {local?.quality === "poor" && (
        <p class="warning" data-testid="bad-network">
          {t("call.badNetwork")}
        </p>
      )}
      {mutedBy && (
        <p class="notice" data-testid="notice" onClick={() => session.call.setNotice("")}>
          {t("call.mutedBy", { user: mutedBy })}
        </p>
      )}
    </div>
  );
}
