// The participants list with moderation (mute, block, remove, pin for everyone, pin for me), and the
// permission requests a moderator can grant.

import type { CallView } from "../weir/call";
import type { Participant } from "../weir/participants";
import type { CallSession } from "../weir/session";
import { Avatar } from "./Avatar";
import { t } from "./i18n";
import { Icon } from "./Icon";

export function ParticipantsPanel({ session, view }: { session: CallSession; view: CallView }) {
  const call = session.call;
  const can = (capability: string) => view.ownCapabilities.includes(capability);
  return (
    <aside class="panel" data-testid="participants-panel">
      <h2>{t("call.participants", { count: view.participants.length })}</h2>
      {can("mute-users") && (
        <button class="small" data-testid="mute-all" onClick={() => call.muteEveryone()}>
          {t("mod.muteAll")}
        </button>
      )}
      <ul>
        {view.participants.map((p) => (
          <li key={p.sessionId} data-testid="participant-entry" data-user-id={p.userId} data-session-id={p.sessionId}>
            <Avatar id={p.userId} name={p.name} image={p.image} size="sm" />
            <span class="name">{p.isLocal ? t("call.you", { name: p.name }) : p.name}</span>
            <span data-testid="entry-mic" data-muted={String(!p.audio)}>
              <Icon name={p.audio ? "mic" : "micOff"} />
            </span>
            <span class="actions">
              <Moderation session={session} participant={p} can={can} />
            </span>
          </li>
        ))}
      </ul>
    </aside>
  );
}

function Moderation({
  session,
  participant: p,
  can,
}: {
  session: CallSession;
  participant: Participant;
  can: (c: string) => boolean;
}) {
  const call = session.call;
  const others = !p.isLocal;
  return (
    <>
      <button class="small" data-testid="pin-local" onClick={() => call.pinLocally(p.sessionId, !p.pinnedLocally)}>
        {t(p.pinnedLocally ? "mod.unpinLocal" : "mod.pinLocal")}
      </button>
      {can("pin-for-everyone") && (
        <button class="small" data-testid="pin-user" onClick={() => call.pinForEveryone(p, !p.pinnedForEveryone)}>
          {t(p.pinnedForEveryone ? "mod.unpin" : "mod.pin")}
        </button>
      )}
      {others && can("mute-users") && (
        <button class="small" data-testid="mute-user" onClick={() => call.muteUser(p.userId, { audio: true })}>
          {t("mod.mute")}
        </button>
      )}
      {others && can("kick-user") && (
        <button class="small danger" data-testid="kick-user" onClick={() => call.kick(p.userId)}>
          {t("mod.kick")}
        </button>
      )}
      {others && can("block-users") && (
        <button class="small danger" data-testid="block-user" onClick={() => call.block(p.userId)}>
          {t("mod.block")}
        </button>
      )}
    </>
  );
}

export function PermissionRequests({ session, view }: { session: CallSession; view: CallView }) {
  if (view.permissionRequests.length === 0) return null;
  return (
    <section class="requests card" data-testid="permission-requests">
      <h2>{t("call.requests")}</h2>
      {view.permissionRequests.map((r) => (
        <div class="row" key={r.user.id} data-testid="permission-request" data-user-id={r.user.id}>
          <span>
            {t("call.requestFrom", { user: r.user.name || r.user.id, permissions: r.permissions.join(", ") })}
          </span>
          <button
            class="primary small"
            data-testid="grant-permission"
            onClick={() => session.call.updatePermissions(r.user.id, r.permissions)}
          >
            {t("call.grant")}
          </button>
          <button class="small" data-testid="deny-permission" onClick={() => session.call.dismissRequest(r.user.id)}>
            {t("call.deny")}
          </button>
        </div>
      ))}
    </section>
  );
}
