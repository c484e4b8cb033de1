// The app shell: sign-in, then the lobby, ringing screens and the call screens, switched by state
// (the seed's StreamCallContainer role).

import { useEffect, useRef, useState } from "preact/hooks";
import { devSignIn, type Credentials } from "../weir/api";
import { WeirClient } from "../weir/client";
import { LocalMedia } from "../weir/media";
import { CallSession } from "../weir/session";
import { AudioRoomScreen } from "./AudioRoom";
import { credentialsFromUrl, listenForEmbeddedCredentials, storeCredentials, storedCredentials } from "./auth";
import { CallScreen } from "./CallScreen";
import { useStore } from "./hooks";
import { language, t } from "./i18n";
import { Lobby, type LobbyChoice } from "./Lobby";
import { hlsPlaylist, LivestreamScreen } from "./Livestream";
import { EndedScreen, IncomingCall, OutgoingCall } from "./Ringing";
import { RemoteAudio } from "./RemoteAudio";
import { callFromPath, joinPath, showPath, type CallRef } from "./route";
import { SignIn } from "./SignIn";
import { TopBar } from "./TopBar";

type Screen =
  | { kind: "lobby" }
  | { kind: "outgoing"; session: CallSession; callees: string[] }
  | { kind: "call"; session: CallSession }
  | { kind: "ended"; reason: string; ref: CallRef };

const BASE_URL = "";
const NAME_KEY = "weir.name";

export function App() {
  const [credentials, setCredentials] = useState<Credentials | null>(() => credentialsFromUrl() ?? storedCredentials());
  const [client, setClient] = useState<WeirClient | null>(null);
  const [error, setError] = useState("");
  const media = useRef(new LocalMedia()).current;
  useStore(language); // every string comes from t(): re-render the whole tree when the language changes

  useEffect(() => listenForEmbeddedCredentials(setCredentials), []);

  useEffect(() => {
    if (!credentials) return;
    const name = localStorage.getItem(NAME_KEY) || credentials.userId;
    const next = new WeirClient(BASE_URL, credentials, { name });
    let live = true;
    next.connect().then(
      () => {
        if (!live) return;
        storeCredentials(credentials);
        setClient(next);
      },
      (failure: Error) => {
        storeCredentials(null);
        setError(t("signin.failed", { message: failure.message }));
        setCredentials(null);
      },
    );
    return () => {
      live = false;
      next.close();
      setClient(null);
    };
  }, [credentials]);

  async function signIn(userId: string): Promise<void> {
    setError("");
    try {
      setCredentials(await devSignIn(BASE_URL, userId));
    } catch (failure) {
      const status = (failure as { status?: number }).status;
      setError(
        status === 404 ? t("signin.noDev") : t("signin.failed", { message: String((failure as Error).message) }),
      );
    }
  }

  function signOut(): void {
    media.release();
    storeCredentials(null);
    setCredentials(null);
  }

  return (
    <div class="app">
      <TopBar client={client} onSignOut={credentials ? signOut : undefined} />
      {client ? (
        <Signed client={client} media={media} />
      ) : credentials && !error ? (
        <main class="center" />
      ) : (
        <SignIn onSignIn={signIn} error={error} />
      )}
    </div>
  );
}

function Signed({ client, media }: { client: WeirClient; media: LocalMedia }) {
  const [screen, setScreen] = useState<Screen>({ kind: "lobby" });
  const [lobbyError, setLobbyError] = useState("");
  const ringing = useStore(client.ringing);
  const active = screen.kind === "call" || screen.kind === "outgoing" ? screen.session : null;

  const activeRef = useRef<CallSession | null>(null);
  activeRef.current = active;
  // Signing out (or switching user) leaves the call this tab is in.
  useEffect(
    () => () => {
      const session = activeRef.current;
      if (!session) return;
      void session.leave();
      session.dispose();
    },
    [],
  );

  function open(ref: CallRef): CallSession {
    const session = new CallSession(client.call(ref.type, ref.id), media);
    session.onEnded = (reason) => setScreen({ kind: "ended", reason, ref });
    return session;
  }

  async function rename(name: string): Promise<void> {
    if (!name || name === (client.me?.name ?? "")) return;
    localStorage.setItem(NAME_KEY, name);
    await client.rename(name);
  }

  async function start(choice: LobbyChoice): Promise<void> {
    setLobbyError("");
    const ref = { type: choice.type, id: choice.id };
    showPath(joinPath(ref));
    const session = open(ref);
    try {
      await rename(choice.name);
      if (choice.ring.length) {
        const members = [client.userId, ...choice.ring].map((user_id) => ({ user_id }));
        await session.call.getOrCreate({ ring: true, video: choice.video, data: { members, video: choice.video } });
        setScreen({ kind: "outgoing", session, callees: choice.ring });
        return;
      }
      const state = await session.call.getOrCreate({});
      const waits = state.call.backstage && !state.own_capabilities.includes("join-backstage");
      // a livestream viewer watches the HLS broadcast, if there is one, without joining
      const overHls =
        choice.type === "livestream" &&
        hlsPlaylist(state.call) !== null &&
        !state.own_capabilities.includes("update-call");
      if (!waits && !overHls) await session.join();
      setScreen({ kind: "call", session });
    } catch (failure) {
      session.dispose();
      setLobbyError(t("lobby.joinFailed", { message: (failure as Error).message }));
    }
  }

  async function leave(endForAll = false): Promise<void> {
    if (!active) return;
    if (endForAll) await active.call.endForEveryone().catch(() => undefined);
    await active.leave();
    active.dispose();
    const [type, id] = [active.call.type, active.call.id];
    setScreen({ kind: "ended", reason: endForAll ? "ended" : "left", ref: { type, id } });
  }

  async function accept(): Promise<void> {
    const incoming = ringing.incoming;
    if (!incoming) return;
    client.dismissIncoming();
    if (active) await leave();
    const session = open({ type: incoming.call.type, id: incoming.call.id });
    showPath(joinPath({ type: incoming.call.type, id: incoming.call.id }));
    await session.call.accept();
    await session.call.refresh();
    if (incoming.video) await media.setCamera(true);
    await media.setMic(true);
    await session.join();
    setScreen({ kind: "call", session });
  }

  async function reject(): Promise<void> {
    const incoming = ringing.incoming;
    if (!incoming) return;
    client.dismissIncoming();
    const [type, id] = [incoming.call.type, incoming.call.id];
    await client.call(type, id).reject("decline");
  }

  async function answered(session: CallSession): Promise<void> {
    await session.join();
    setScreen({ kind: "call", session });
  }

  function rejected(session: CallSession): void {
    session.dispose();
    setScreen({ kind: "ended", reason: "rejected", ref: { type: session.call.type, id: session.call.id } });
  }

  async function cancel(session: CallSession): Promise<void> {
    await session.call.reject("cancel").catch(() => undefined);
    session.dispose();
    setScreen({ kind: "lobby" });
  }

  function backToLobby(): void {
    setScreen({ kind: "lobby" });
  }

  const incoming = ringing.incoming && ringing.incoming.cid !== active?.call.cid ? ringing.incoming : null;
  return (
    <>
      {screen.kind === "lobby" && (
        <Lobby client={client} media={media} initial={callFromPath()} onStart={start} error={lobbyError} />
      )}
      {screen.kind === "outgoing" && (
        <OutgoingCall
          session={screen.session}
          callees={screen.callees}
          onAnswered={() => answered(screen.session)}
          onRejected={() => rejected(screen.session)}
          onCancel={() => cancel(screen.session)}
        />
      )}
      {screen.kind === "call" && <ActiveCall session={screen.session} onLeave={leave} />}
      {screen.kind === "ended" && (
        <EndedScreen
          reason={screen.reason}
          onBack={backToLobby}
          onRejoin={() => start({ ...screen.ref, name: client.me?.name ?? "", ring: [], video: true })}
        />
      )}
      {incoming && <IncomingCall incoming={incoming} onAccept={accept} onReject={reject} />}
    </>
  );
}

function ActiveCall({ session, onLeave }: { session: CallSession; onLeave: (endForAll?: boolean) => void }) {
  const type = session.call.type;
  const screen =
    type === "livestream" ? (
      <LivestreamScreen session={session} onLeave={onLeave} />
    ) : type === "audio_room" ? (
      <AudioRoomScreen session={session} onLeave={onLeave} />
    ) : (
      <CallScreen session={session} onLeave={onLeave} />
    );
  return (
    <>
      {screen}
      <RemoteAudio session={session} />
    </>
  );
}
