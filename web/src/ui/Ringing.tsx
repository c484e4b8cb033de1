// Ringing: the outgoing screen (with cancel), the incoming screen (accept, decline), and the end screen.

import { useEffect } from "preact/hooks";
import type { IncomingCall as Incoming } from "../weir/client";
import type { CallSession } from "../weir/session";
import { Avatar } from "./Avatar";
import { useStore } from "./hooks";
import { t, type Key } from "./i18n";
import { Icon } from "./Icon";

interface OutgoingProps {
  session: CallSession;
  callees: string[];
  onAnswered: () => void;
  onRejected: () => void;
  onCancel: () => void;
}

/** Shown until a callee accepts (then the caller joins); a call that ends meanwhile was rejected or timed out. */
export function OutgoingCall({ session, callees, onAnswered, onRejected, onCancel }: OutgoingProps) {
  const call = session.call;
  const view = useStore(call.state);
  useEffect(() => {
    const stops = [
      call.events.on("call.accepted", (event) => {
        if (event.user?.id !== call.userId) onAnswered();
      }),
      call.events.on("call.ended", onRejected),
      call.events.on("call.rejected", (event) => {
        if (event.user?.id === call.userId) onRejected(); // the server's auto-cancel timeout
      }),
    ];
    return () => stops.forEach((stop) => stop());
  }, [call]);
  const members = view.members.filter((m) => m.user_id !== call.userId);
  const people = members.length ? members.map((m) => m.user) : callees.map((id) => ({ id, name: id, image: "" }));
  return (
    <main class="ringing" data-testid="outgoing-call">
      <div class="avatars">
        {people.map((u) => (
          <Avatar key={u.id} id={u.id} name={u.name || u.id} image={u.image ?? ""} size="lg" />
        ))}
      </div>
      <h1>{t("ring.outgoing", { users: people.map((u) => u.name || u.id).join(", ") })}</h1>
      <button class="danger round big" data-testid="cancel-call" title={t("ring.cancel")} onClick={onCancel}>
        <Icon name="close" />
      </button>
      <span>{t("ring.cancel")}</span>
    </main>
  );
}

interface IncomingProps {
  incoming: Incoming;
  onAccept: () => void;
  onReject: () => void;
}

export function IncomingCall({ incoming, onAccept, onReject }: IncomingProps) {
  const caller = incoming.caller;
  return (
    <div class="overlay" role="dialog" aria-modal="true">
      <section class="ringing card" data-testid="incoming-call" data-call-cid={incoming.cid}>
        <Avatar id={caller.id} name={caller.name || caller.id} image={caller.image ?? ""} size="lg" />
        <p class="muted">{t(incoming.video ? "ring.incomingVideo" : "ring.incomingAudio")}</p>
        <h1 data-testid="incoming-caller">{t("ring.incoming", { user: caller.name || caller.id })}</h1>
        <div class="row spread">
          <button class="danger round big" data-testid="reject-call" title={t("ring.reject")} onClick={onReject}>
            <Icon name="close" />
          </button>
          <button class="success round big" data-testid="accept-call" title={t("ring.accept")} onClick={onAccept}>
            <Icon name="phone" />
          </button>
        </div>
      </section>
    </div>
  );
}

const REASONS: Record<string, Key> = {
  left: "ended.left",
  ended: "ended.ended",
  kicked: "ended.kicked",
  blocked: "ended.blocked",
  timeout: "ended.timeout",
  rejected: "ended.rejected",
};

export function EndedScreen({
  reason,
  onBack,
  onRejoin,
}: {
  reason: string;
  onBack: () => void;
  onRejoin: () => void;
}) {
  return (
    <main class="center">
      <section class="card narrow" data-testid="call-ended" data-reason={reason}>
        <h1>{t(REASONS[reason] ?? "ended.ended")}</h1>
        <div class="row">
          <button class="primary" data-testid="back-to-lobby" onClick={onBack}>
            {t("ended.back")}
          </button>
          {(reason === "left" || reason === "timeout") && (
            <button data-testid="rejoin-call" onClick={onRejoin}>
              {t("ended.rejoin")}
            </button>
          )}
        </div>
      </section>
    </main>
  );
}
