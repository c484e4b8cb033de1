// A recording layout's settings (`settings.recording.layout`): the seed's options table with its defaults, and
// custom actions (`layout_override`, `options_override`) applied to the call's current counts.

import { matches, type Condition, type Value } from "./conditions";

export type LayoutName = "grid" | "spotlight" | "single-participant";
export type Options = Record<string, Value>;

export interface LayoutSettings {
  name?: string;
  options?: Options;
  external_css_url?: string;
  external_app_url?: string;
}

interface CustomAction {
  action_type?: string;
  condition?: Condition;
  layout?: string;
  ignore_screenshare?: boolean;
  options?: Options;
}

const COMMON: Options = {
  "video.background_color": "#000000",
  "video.scale_mode": "fill",
  "video.screenshare_scale_mode": "fit",
  "logo.image_url": "",
  "logo.horizontal_position": "center",
  "logo.vertical_position": "top",
  "participant.label_display": true,
  "participant.label_display_border": true,
  "participant.label_horizontal_position": "left",
  "participant.label_vertical_position": "bottom",
  "participant.label_text_color": "#000000",
  "participant.label_background_color": "#00000000",
  "participant.label_border_color": "#CCCCCC",
  "participant.label_border_radius": 1.2,
  "participant.label_border_rounded": true,
  "participant.video_border_color": "#CCCCCC",
  "participant.video_border_radius": 1.2,
  "participant.video_border_rounded": true,
  "participant.video_border_width": true,
  "participant.video_highlight_border_color": "#7CFC00",
  "participant.placeholder_background_color": "#000000",
  presenter_visible: true,
  screenshare_layout: "spotlight",
  "grid.position": "bottom",
  "grid.columns": 5,
  "grid.cell_padding": 10,
  "grid.margin": 10,
};

/** Where the seed's tables differ by layout (grid rows and size). */
const DEFAULTS: Record<LayoutName, Options> = {
  grid: { ...COMMON, "grid.rows": 4, "grid.size_percentage": 90 },
  spotlight: { ...COMMON, "grid.rows": 1, "grid.size_percentage": 20 },
  "single-participant": { ...COMMON },
};

/** The seed's spellings: its prose writes "single_participant", an example "dominant-speaker". */
const ALIASES: Record<string, LayoutName> = {
  grid: "grid",
  spotlight: "spotlight",
  "single-participant": "single-participant",
  single_participant: "single-participant",
  "dominant-speaker": "single-participant",
  mobile: "spotlight",
};

export function layoutName(name: string | undefined): LayoutName {
  return ALIASES[name ?? "grid"] ?? "grid";
}

export type CallCounts = {
  participant_count: number;
  pinned_participant_count: number;
};

export interface Resolved {
  layout: LayoutName;
  options: Options;
}

function actions(options: Options, type: string): CustomAction[] {
  const all = options.custom_actions;
  if (!Array.isArray(all)) return [];
  return (all as CustomAction[]).filter((a) => a?.action_type === type);
}

/**
 * The layout and options in force: the first matching layout_override (a screen share switches to
 * `screenshare_layout` unless the override has ignore_screenshare), over it the layout's defaults, the given
 * options and every matching options_override in order.
 */
export function resolve(settings: LayoutSettings, counts: CallCounts, screenSharing: boolean): Resolved {
  const given = settings.options ?? {};
  const override = actions(given, "layout_override").find((a) => matches(a.condition ?? {}, counts));
  let layout = layoutName(override?.layout ?? settings.name);
  if (screenSharing && !override?.ignore_screenshare && layout !== "single-participant")
    layout = layoutName(String(given.screenshare_layout ?? COMMON.screenshare_layout));
  const options: Options = { ...DEFAULTS[layout], ...given };
  for (const action of actions(given, "options_override")) {
    if (matches(action.condition ?? {}, counts)) Object.assign(options, action.options ?? {});
  }
  return { layout, options };
}
