import { render } from "preact";
import { LayoutPage, layoutFromPath } from "./layout/LayoutPage";
import { App } from "./ui/App";
import { language } from "./ui/i18n";
import { applyTheme, theme } from "./ui/theme";
import "./styles.css";

applyTheme(theme.get());
document.documentElement.lang = language.get();
const root = document.getElementById("app")!;
// `/layout/<type>/<id>` is the recording layout page (Chromium in the composite recorder opens it); `/dashboard`
// the admin dashboard, loaded on its own so calls never download it (or its chart library).
const layout = layoutFromPath();
if (layout) render(<LayoutPage at={layout} />, root);
else if (/^\/dashboard(\/|$)/.test(location.pathname)) {
  void import("./dashboard/Dashboard").then(({ Dashboard }) => render(<Dashboard />, root));
} else render(<App />, root);
