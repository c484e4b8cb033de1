// Audio rooms: speakers and listeners; listeners request to speak, the host grants or revokes.

import type { ComponentChildren } from "preact";
import type { CallView } from "../weir/call";
import type { Participant } from "../weir/participants";
import type { CallSession } from "../weir/session";
import { Avatar } from "./Avatar";
import { Warnings } from "./CallScreen";
import { Controls } from "./Controls";
import { useStore } from "./hooks";
import { t } from "./i18n";
import { useJoinWhenLive } from "./Livestream";
import { PermissionRequests } from "./ParticipantsPanel";
import { emojiFor } from "./reactions";
import { Icon } from "./Icon";

interface Props {
  session: CallSession;
  onLeave: (endForAll?: boolean) => void;
}

const SPEAKER_ROLES = ["host", "admin", "speaker"];

/** Speakers: the room's creator, speaker roles, users granted send-audio, and whoever publishes audio. */
export function isSpeaker(p: Participant, view: CallView): boolean {
  return (
    p.userId === view.call?.created_by.id ||
    SPEAKER_ROLES.includes(p.role) ||
    view.speakers.includes(p.userId) ||
    p.audio ||
    (p.isLocal && view.ownCapabilities.includes("send-audio"))
  );
}

export function AudioRoomScreen({ session, onLeave }: Props) {
  const view = useStore(session.call.state);
  const media = useStore(session.media.state);
  useJoinWhenLive(session);
  const host = view.ownCapabilities.includes("update-call");
  const backstage = view.call?.backstage ?? true;

  if (view.status === "idle") {
    return (
      <main class="center" data-testid="audio-room-waiting">
        <section class="card narrow">
          <h1>{view.call?.cid}</h1>
          <p>{t("room.waiting")}</p>
          <button data-testid="leave-call" onClick={() => onLeave(false)}>
            {t("call.leave")}
          </button>
        </section>
      </main>
    );
  }

  const speakers = view.participants.filter((p) => isSpeaker(p, view));
  const listeners = view.participants.filter((p) => !isSpeaker(p, view));
  const grant = (p: Participant, on: boolean) =>
    on
      ? session.call.updatePermissions(p.userId, ["send-audio"])
      : session.call.updatePermissions(p.userId, [], ["send-audio"]);
  return (
    <main class="call audio-room" data-testid="audio-room" data-call-cid={session.call.cid}>
      <header class="call-header">
        <span class="cid">{view.call?.cid}</span>
        {host &&
          (backstage ? (
            <button class="primary" data-testid="go-live" onClick={() => session.call.goLive()}>
              {t("live.goLive")}
            </button>
          ) : (
            <span class="badge live" data-testid="live-badge">
              {t("live.isLive")}
            </span>
          ))}
      </header>
      <Warnings session={session} view={view} />
      {host && <PermissionRequests session={session} view={view} />}
      <section data-testid="speakers">
        <h2>{t("room.speakers")}</h2>
        <ul class="people">
          {speakers.map((p) => (
            <Person key={p.sessionId} p={p} testid="speaker">
              {host && !p.isLocal && p.userId !== view.call?.created_by.id && (
                <button class="small" data-testid="revoke-speaker" onClick={() => grant(p, false)}>
                  {t("room.revoke")}
                </button>
              )}
            </Person>
          ))}
        </ul>
      </section>
      <section data-testid="listeners">
        <h2>{t("room.listeners")}</h2>
        <ul class="people">
          {listeners.map((p) => (
            <Person key={p.sessionId} p={p} testid="listener">
              {host && (
                <button class="small" data-testid="make-speaker" onClick={() => grant(p, true)}>
                  {t("room.makeSpeaker")}
                </button>
              )}
            </Person>
          ))}
        </ul>
      </section>
      <Controls session={session} view={view} media={media} onLeave={onLeave} video={false} />
    </main>
  );
}

function Person({ p, testid, children }: { p: Participant; testid: string; children?: ComponentChildren }) {
  return (
    <li
      class={`person ${p.speaking ? "speaking" : ""}`}
      data-testid={testid}
      data-user-id={p.userId}
      data-session-id={p.sessionId}
      data-speaking={String(p.speaking)}
    >
      <Avatar id={p.userId} name={p.name} image={p.image} size="lg" />
      <span class="name">{p.isLocal ? t("call.you", { name: p.name }) : p.name}</span>
      <span data-testid="mic-indicator" data-muted={String(!p.audio)}>
        <Icon name={p.audio ? "mic" : "micOff"} />
      </span>
      {p.reaction && (
        <span class="reaction small" data-testid="reaction" data-reaction-type={p.reaction.type}>
          {emojiFor(p.reaction)}
        </span>
      )}
      {children}
    </li>
  );
}
