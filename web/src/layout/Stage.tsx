// One frame of the recording: the layout in force (after custom actions), its tiles, labels and logo.

import { useEffect, useState } from "preact/hooks";
import type { Participant } from "../weir/participants";
import { SortingPresets } from "../weir/participants";
import type { CallSession, TrackKind } from "../weir/session";
import { useStore } from "../ui/hooks";
import { Video } from "../ui/Video";
import { matches, type Condition } from "./conditions";
import { centred, gridBoxes, spotlightAreas, type BarPosition, type Box } from "./geometry";
import { resolve, type LayoutSettings, type Options } from "./options";

interface Tile {
  participant: Participant;
  kind: TrackKind;
}

const pinned = (p: Participant) => p.pinnedForEveryone || p.pinnedLocally;

/** A participant as the filter DSL names its properties. */
export function filterSubject(p: Participant) {
  return {
    userId: p.userId,
    name: p.name,
    roles: [p.role],
    isSpeaking: p.speaking,
    isDominantSpeaker: p.dominantSpeaker,
    isPinned: pinned(p),
    hasVideo: p.video,
    hasAudio: p.audio,
    hasScreenShare: p.screenShare,
  };
}

/** Single-participant's choice, by the seed's priority: pinned, screen-sharing, dominant speaker, has video. */
function chosen(people: Participant[]): Participant | undefined {
  const tests = [
    pinned,
    (p: Participant) => p.screenShare,
    (p: Participant) => p.dominantSpeaker,
    (p: Participant) => p.video,
  ];
  for (const test of tests) {
    const found = people.find(test);
    if (found) return found;
  }
  return people[0];
}

function useViewport(): { width: number; height: number } {
  const [size, setSize] = useState({ width: window.innerWidth, height: window.innerHeight });
  useEffect(() => {
    const onResize = () => setSize({ width: window.innerWidth, height: window.innerHeight });
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, []);
  return size;
}

const num = (value: unknown, fallback: number) => (typeof value === "number" ? value : Number(value ?? fallback));

export function Stage({ session, settings }: { session: CallSession; settings: LayoutSettings }) {
  const view = useStore(session.call.state);
  const { width, height } = useViewport();
  // The recorder's own session (hidden from everyone else) is not drawn and not counted.
  const people = view.participants.filter((p) => !p.isLocal);
  const counts = { participant_count: people.length, pinned_participant_count: people.filter(pinned).length };
  const sharing = people.some((p) => p.screenShare);
  const { layout, options } = resolve(settings, counts, sharing);
  const filter = options["participant.filter"];
  const shown =
    layout !== "single-participant" && filter && typeof filter === "object" && !Array.isArray(filter)
      ? people.filter((p) => matches(filter as Condition, filterSubject(p)))
      : people;
  const placed: Array<[Tile, Box, boolean]> = [];
  const padding = num(options["grid.cell_padding"], 10);

  if (layout === "single-participant") {
    const one = chosen(shown);
    if (one?.screenShare) {
      placed.push([{ participant: one, kind: "screen_share" }, { x: 0, y: 0, width, height }, false]);
      if (options.presenter_visible !== false && one.video) {
        const box = { x: width * 0.75, y: height * 0.75, width: width * 0.22, height: height * 0.22 };
        placed.push([{ participant: one, kind: "video" }, box, false]);
      }
    } else if (one) placed.push([{ participant: one, kind: "video" }, { x: 0, y: 0, width, height }, false]);
  } else {
    const sorted = [...shown].sort(layout === "grid" ? SortingPresets.regular : SortingPresets.speaker);
    const tiles: Tile[] = [
      ...sorted.filter((p) => p.screenShare).map((participant) => ({ participant, kind: "screen_share" as const })),
      ...sorted.map((participant) => ({ participant, kind: "video" as const })),
    ];
    const columns = num(options["grid.columns"], 5);
    const rows = num(options["grid.rows"], 4);
    if (layout === "grid") {
      const area = centred(width, height, num(options["grid.size_percentage"], 90));
      gridBoxes(tiles.length, area, columns, rows).forEach((box, i) => placed.push([tiles[i], box, true]));
    } else {
      const [main, ...rest] = tiles;
      const position = String(options["grid.position"]) as BarPosition;
      const areas = spotlightAreas(
        width,
        height,
        position,
        num(options["grid.size_percentage"], 20),
        num(options["grid.margin"], 10),
        rest.length > 0,
      );
      if (main) placed.push([main, areas.main, false]);
      gridBoxes(rest.length, areas.bar, columns, rows).forEach((box, i) => placed.push([rest[i], box, true]));
    }
  }

  const background = String(options["layout.background_color"] ?? options["video.background_color"]);
  return (
    <div class="layout-stage" data-testid="layout-stage" data-layout={layout} style={{ background }}>
      {placed.map(([tile, box, inset]) => (
        <LayoutTile
          key={`${tile.participant.sessionId}:${tile.kind}`}
          tile={tile}
          box={box}
          padding={inset ? padding : 0}
          options={options}
          onSize={session.reportTile}
        />
      ))}
      <Logo options={options} />
    </div>
  );
}

interface TileProps {
  tile: Tile;
  box: Box;
  padding: number;
  options: Options;
  onSize: CallSession["reportTile"];
}

function rounded(options: Options, key: string): string {
  return options[`${key}_rounded`] === false ? "0" : `${num(options[`${key}_radius`], 1.2)}rem`;
}

const ALIGN: Record<string, string> = {
  left: "flex-start",
  top: "flex-start",
  center: "center",
  right: "flex-end",
  bottom: "flex-end",
};

function LayoutTile({ tile, box, padding, options, onSize }: TileProps) {
  const p = tile.participant;
  const screen = tile.kind === "screen_share";
  const width = Math.max(0, box.width - padding);
  const height = Math.max(0, box.height - padding);
  useEffect(() => {
    onSize(p, tile.kind, { width: Math.round(width), height: Math.round(height) });
  }, [p.sessionId, tile.kind, Math.round(width), Math.round(height)]);
  useEffect(() => () => onSize(p, tile.kind, null), [p.sessionId, tile.kind]);

  const stream = screen ? p.screenStream : p.video ? p.videoStream : null;
  const highlight = p.dominantSpeaker || p.speaking;
  const borderColor = String(
    options[highlight ? "participant.video_highlight_border_color" : "participant.video_border_color"],
  );
  const aspect = options["participant.aspect_ratio"];
  const scale = String(options[screen ? "video.screenshare_scale_mode" : "video.scale_mode"]);
  const labelBorder = options["participant.label_display_border"] !== false;
  return (
    <div
      class="layout-tile"
      data-testid="layout-tile"
      data-user-id={p.userId}
      data-kind={tile.kind}
      style={{
        left: `${box.x + padding / 2}px`,
        top: `${box.y + padding / 2}px`,
        width: `${width}px`,
        height: `${height}px`,
        alignItems: "center",
        justifyContent: "center",
      }}
    >
      <div
        class="layout-frame"
        style={{
          aspectRatio: typeof aspect === "string" && aspect ? aspect.replace("/", " / ") : undefined,
          width: aspect ? undefined : "100%",
          height: "100%",
          border: options["participant.video_border_width"] === false ? "none" : `2px solid ${borderColor}`,
          borderRadius: rounded(options, "participant.video_border"),
          background: String(options["participant.placeholder_background_color"]),
        }}
      >
        {stream ? (
          <Video stream={stream} fit={scale === "fit" ? "contain" : "cover"} testid="layout-video" />
        ) : (
          <div class="layout-placeholder">{(p.name || p.userId).slice(0, 1).toUpperCase()}</div>
        )}
        {options["participant.label_display"] !== false && (
          <div
            class="layout-label-row"
            style={{
              justifyContent: ALIGN[String(options["participant.label_horizontal_position"])] ?? "flex-start",
              alignItems: ALIGN[String(options["participant.label_vertical_position"])] ?? "flex-end",
            }}
          >
            <span
              class="layout-label"
              data-testid="layout-label"
              style={{
                color: String(options["participant.label_text_color"]),
                background: String(options["participant.label_background_color"]),
                border: labelBorder ? `1px solid ${String(options["participant.label_border_color"])}` : "none",
                borderRadius: rounded(options, "participant.label_border"),
              }}
            >
              {screen ? `${p.name} (screen)` : p.name}
            </span>
          </div>
        )}
      </div>
    </div>
  );
}

function Logo({ options }: { options: Options }) {
  const src = String(options["logo.image_url"] ?? "");
  if (!src) return null;
  return (
    <div
      class="layout-logo-row"
      style={{
        justifyContent: ALIGN[String(options["logo.horizontal_position"])] ?? "center",
        alignItems: ALIGN[String(options["logo.vertical_position"])] ?? "flex-start",
      }}
    >
      <img class="layout-logo" data-testid="layout-logo" src={src} alt="" />
    </div>
  );
}
