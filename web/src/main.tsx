import { render } from "preact";
import { App } from "./ui/App";
import { language } from "./ui/i18n";
import { applyTheme, theme } from "./ui/theme";
import "./styles.css";

applyTheme(theme.get());
document.documentElement.lang = language.get();
render(<App />, document.getElementById("app")!);
