// Where each tile goes, in pixels of the recorded frame: an equal-size grid, or a spotlight with a bar of
// the others beside it (`grid.position`).

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const TILE_ASPECT = 16 / 9;

/** The number of columns (at most `maxColumns`) that gives 16:9 tiles the most room in `area`. */
function bestColumns(count: number, area: Box, maxColumns: number, maxRows: number): number {
  let best = 1;
  let bestSize = -1;
  for (let columns = 1; columns <= Math.max(1, Math.min(count, maxColumns)); columns++) {
    const rows = Math.min(Math.ceil(count / columns), maxRows);
    const size = Math.min(area.width / columns / TILE_ASPECT, area.height / rows);
    if (size >= bestSize) [best, bestSize] = [columns, size]; // a tie goes to more columns
  }
  return best;
}

/** Equal cells filling `area` row by row, the last row centred; at most columns × rows of them. */
export function gridBoxes(count: number, area: Box, maxColumns: number, maxRows: number): Box[] {
  if (count <= 0) return [];
  const columns = bestColumns(count, area, Math.max(1, maxColumns), Math.max(1, maxRows));
  const rows = Math.min(Math.ceil(count / columns), Math.max(1, maxRows));
  const shown = Math.min(count, columns * rows);
  const width = area.width / columns;
  const height = area.height / rows;
  const boxes: Box[] = [];
  for (let i = 0; i < shown; i++) {
    const row = Math.floor(i / columns);
    const inRow = Math.min(columns, shown - row * columns);
    const offset = (area.width - inRow * width) / 2;
    boxes.push({ x: area.x + offset + (i % columns) * width, y: area.y + row * height, width, height });
  }
  return boxes;
}

/** `percent` of the frame, centred. */
export function centred(width: number, height: number, percent: number): Box {
  const scale = Math.min(100, Math.max(1, percent)) / 100;
  return { x: (width * (1 - scale)) / 2, y: (height * (1 - scale)) / 2, width: width * scale, height: height * scale };
}

export type BarPosition = "top" | "bottom" | "left" | "right";

/** The spotlight's area and its bar's: the bar takes `percent` of the frame on its side, `margin` between. */
export function spotlightAreas(
  width: number,
  height: number,
  position: BarPosition,
  percent: number,
  margin: number,
  withBar: boolean,
): { main: Box; bar: Box } {
  const full = { x: 0, y: 0, width, height };
  if (!withBar) return { main: full, bar: { x: 0, y: 0, width: 0, height: 0 } };
  const share = Math.min(90, Math.max(1, percent)) / 100;
  const vertical = position === "top" || position === "bottom";
  const barSize = (vertical ? height : width) * share;
  const mainSize = (vertical ? height : width) - barSize - margin;
  if (vertical) {
    const barY = position === "top" ? 0 : height - barSize;
    const mainY = position === "top" ? barSize + margin : 0;
    return { main: { x: 0, y: mainY, width, height: mainSize }, bar: { x: 0, y: barY, width, height: barSize } };
  }
  const barX = position === "left" ? 0 : width - barSize;
  const mainX = position === "left" ? barSize + margin : 0;
  return { main: { x: mainX, y: 0, width: mainSize, height }, bar: { x: barX, y: 0, width: barSize, height } };
}
