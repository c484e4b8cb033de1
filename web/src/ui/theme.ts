// Light and dark themes: CSS variables switched by data-theme on <html> (default: the system's preference).

import { Store } from "../weir/store";

export type Theme = "light" | "dark";

function initialTheme(): Theme {
  const chosen = new URLSearchParams(location.search).get("theme") ?? localStorage.getItem("weir.theme");
  if (chosen === "light" || chosen === "dark") return chosen;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const theme = new Store<Theme>(initialTheme());

export function applyTheme(value: Theme, remember = false): void {
  if (remember) localStorage.setItem("weir.theme", value);
  document.documentElement.dataset.theme = value;
  theme.set(value);
}
