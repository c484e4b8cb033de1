// Localization: strings live in src/locales/<lang>.json; English is the fallback for missing keys.

import { Store } from "../weir/store";
import en from "../locales/en.json";
import fr from "../locales/fr.json";

export type Key = keyof typeof en;
export const LANGUAGES: Record<string, Record<string, string>> = { en, fr };
export const LANGUAGE_NAMES: Record<string, string> = { en: "English", fr: "Français" };

function initialLanguage(): string {
  const chosen = new URLSearchParams(location.search).get("lang") ?? localStorage.getItem("weir.lang");
  if (chosen && chosen in LANGUAGES) return chosen;
  const browser = navigator.language.slice(0, 2);
  return browser in LANGUAGES ? browser : "en";
}

export const language = new Store<string>(initialLanguage());

export function setLanguage(lang: string): void {
  localStorage.setItem("weir.lang", lang);
  document.documentElement.lang = lang;
  language.set(lang);
}

export function t(key: Key, params: Record<string, string | number> = {}): string {
  const text = LANGUAGES[language.get()][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}
