// The bar on every screen: app name, connection state, language and theme choice, sign-out.

import type { WeirClient } from "../weir/client";
import { useStore } from "./hooks";
import { LANGUAGE_NAMES, language, setLanguage, t } from "./i18n";
import { applyTheme, theme } from "./theme";
import type { SocketStatus } from "../weir/socket";
import { Store } from "../weir/store";
import { Icon } from "./Icon";

const IDLE = new Store<SocketStatus>("closed");

export function TopBar({ client, onSignOut }: { client: WeirClient | null; onSignOut?: () => void }) {
  const lang = useStore(language);
  const current = useStore(theme);
  const status = useStore(client?.socket.status ?? IDLE);
  const next = current === "dark" ? "light" : "dark";
  return (
    <header class="topbar">
      <strong class="brand">{t("app.title")}</strong>
      {status === "reconnecting" && (
        <span class="badge warn" data-testid="reconnecting">
          {t("app.connection.reconnecting")}
        </span>
      )}
      <span class="spacer" />
      <label class="compact">
        <span class="sr-only">{t("app.language")}</span>
        <select data-testid="language" value={lang} onChange={(e) => setLanguage(e.currentTarget.value)}>
          {Object.entries(LANGUAGE_NAMES).map(([code, name]) => (
            <option value={code} key={code}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <button
        class="icon"
        data-testid="toggle-theme"
        title={t(next === "dark" ? "app.theme.dark" : "app.theme.light")}
        onClick={() => applyTheme(next, true)}
      >
        <Icon name={current === "dark" ? "sun" : "moon"} />
      </button>
      {onSignOut && (
        <button class="link" data-testid="sign-out" onClick={onSignOut}>
          {t("app.signOut")}
        </button>
      )}
    </header>
  );
}
