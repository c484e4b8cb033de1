import { render } from "preact";
import { LayoutPage, layoutFromPath } from "./layout/LayoutPage";
import { App } from "./ui/App";
import { language } from "./ui/i18n";
import { applyTheme, theme } from "./ui/theme";
import "./styles.css";

applyTheme(theme.get());
document.documentElement.lang = language.get();
// `/layout/<type>/<id>` is the recording layout page (Chromium in the composite recorder opens it).
const layout = layoutFromPath();
render(layout ? <LayoutPage at={layout} /> : <App />, document.getElementById("app")!);
