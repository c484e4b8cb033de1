// The admin dashboard at /dashboard: the operator signs in, then picks a screen from the side bar.

import { useEffect, useMemo, useState } from "preact/hooks";
import { storedCredentials } from "../ui/auth";
import { showPath } from "../ui/route";
import { CallTypes } from "./CallTypes";
import { ApiContext, Form } from "./common";
import { EventHooks } from "./EventHooks";
import { LiveCalls } from "./LiveCalls";
import { PastCalls } from "./PastCalls";
import { PushProviders } from "./PushProviders";
import { Recordings } from "./Recordings";
import { Roles } from "./Roles";
import { adminApi, signInAsUser, signInWithSecret, signOut, storedSession, type AdminSession } from "./session";
import { ExternalStorage } from "./ExternalStorage";
import { Users } from "./Users";
import "./dashboard.css";

const SCREENS = {
  "call-types": { title: "Call types", view: CallTypes },
  roles: { title: "Roles and permissions", view: Roles },
  "event-hooks": { title: "Webhooks, SQS and SNS", view: EventHooks },
  push: { title: "Push providers", view: PushProviders },
  storage: { title: "External storage", view: ExternalStorage },
  users: { title: "Users", view: Users },
  live: { title: "Live calls", view: LiveCalls },
  past: { title: "Past calls", view: PastCalls },
  recordings: { title: "Recordings", view: Recordings },
} as const;
type ScreenName = keyof typeof SCREENS;

/** `/dashboard/<screen>/<rest>`: the screen, and what follows it (a call cid for past calls). */
function fromPath(): { screen: ScreenName; rest: string } {
  const [, , name = "", ...rest] = location.pathname.split("/");
  const screen = (name in SCREENS ? name : "call-types") as ScreenName;
  return { screen, rest: rest.map(decodeURIComponent).join("/") };
}

export function Dashboard() {
  const [session, setSession] = useState<AdminSession | null>(storedSession);
  const [at, setAt] = useState(fromPath);
  const api = useMemo(() => (session ? adminApi(session) : null), [session]);

  useEffect(() => {
    const onPop = () => setAt(fromPath());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => setSession(storedSession()), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session]);

  function go(screen: string, rest = ""): void {
    if (!(screen in SCREENS)) return;
    showPath(`/dashboard/${screen}${rest ? `/${rest.split("/").map(encodeURIComponent).join("/")}` : ""}`);
    setAt({ screen: screen as ScreenName, rest });
  }

  if (!session || !api) return <DashboardSignIn onSignedIn={setSession} />;
  const View = SCREENS[at.screen].view;
  return (
    <ApiContext.Provider value={api}>
      <div class="dashboard" data-testid="dashboard">
        <nav class="dash-nav">
          <strong class="brand">Weir admin</strong>
          {(Object.keys(SCREENS) as ScreenName[]).map((name) => (
            <a
              href={`/dashboard/${name}`}
              class={name === at.screen ? "active" : ""}
              data-testid={`nav-${name}`}
              onClick={(e) => {
                e.preventDefault();
                go(name);
              }}
            >
              {SCREENS[name].title}
            </a>
          ))}
          <span class="spacer" />
          <small data-testid="signed-in-as">Signed in with {session.signedInAs}</small>
          <button
            data-testid="dash-sign-out"
            onClick={() => {
              signOut();
              setSession(null);
            }}
          >
            Sign out
          </button>
        </nav>
        <main class="dash-main" data-testid={`screen-${at.screen}`}>
          <h1>{SCREENS[at.screen].title}</h1>
          <View rest={at.rest} go={(rest: string) => go(at.screen, rest)} open={go} />
        </main>
      </div>
    </ApiContext.Provider>
  );
}

function DashboardSignIn({ onSignedIn }: { onSignedIn: (session: AdminSession) => void }) {
  const [apiKey, setApiKey] = useState("");
  const [apiSecret, setApiSecret] = useState("");
  const [error, setError] = useState("");
  const appUser = storedCredentials();

  async function attempt(exchange: () => Promise<AdminSession>): Promise<void> {
    setError("");
    try {
      onSignedIn(await exchange());
    } catch (failure) {
      setError((failure as Error).message);
    }
  }

  return (
    <main class="center">
      <Form
        class="card narrow"
        testId="dash-sign-in"
        onSubmit={() => {
          const secret = apiSecret;
          setApiSecret("");
          return attempt(() => signInWithSecret(apiKey.trim(), secret));
        }}
      >
        <h1>Weir admin</h1>
        <label>
          API key
          <input
            data-testid="dash-api-key"
            value={apiKey}
            autoFocus
            onInput={(e) => setApiKey(e.currentTarget.value)}
          />
        </label>
        <label>
          API secret
          <input
            data-testid="dash-api-secret"
            type="password"
            autoComplete="off"
            value={apiSecret}
            onInput={(e) => setApiSecret(e.currentTarget.value)}
          />
        </label>
        <button class="primary" data-testid="dash-sign-in-submit" type="submit" disabled={!apiKey || !apiSecret}>
          Sign in
        </button>
        {appUser && (
          <button
            type="button"
            data-testid="dash-sign-in-as-user"
            onClick={() => void attempt(() => signInAsUser(appUser))}
          >
            Continue as {appUser.userId} (admin role)
          </button>
        )}
        {error && (
          <p class="error" data-testid="dash-sign-in-error">
            {error}
          </p>
        )}
      </Form>
    </main>
  );
}
