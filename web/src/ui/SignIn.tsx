// Development sign-in: any user id gets a token from `weir serve --dev`.

import { useState } from "preact/hooks";
import { t } from "./i18n";

export function SignIn({ onSignIn, error }: { onSignIn: (userId: string) => void; error: string }) {
  const [userId, setUserId] = useState("");
  return (
    <main class="center">
      <form
        class="card narrow"
        data-testid="sign-in"
        onSubmit={(e) => {
          e.preventDefault();
          if (userId.trim()) onSignIn(userId.trim());
        }}
      >
        <h1>{t("signin.title")}</h1>
        <label>
          {t("signin.userId")}
          <input
            data-testid="sign-in-user"
            value={userId}
            pattern="[@A-Za-z0-9_.!\-]+"
            maxLength={255}
            autoFocus
            onInput={(e) => setUserId(e.currentTarget.value)}
          />
        </label>
        <button class="primary" data-testid="sign-in-submit" type="submit">
          {t("signin.submit")}
        </button>
        {error && (
          <p class="error" data-testid="sign-in-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
