// Line icons as inline SVG (24x24 paths), so controls look the same whatever fonts a device has.

const PATHS = {
  mic: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8",
  micOff:
    "M12 3a3 3 0 0 1 3 3v4M9 9v3a3 3 0 0 0 5 2.2M5 11a7 7 0 0 0 11.5 5.4M19 11a7 7 0 0 1-.6 2.8M12 18v3M8 21h8M3 3l18 18",
  noise: "M2 12h3l2-6 3 12 3-9 2 6 1-3h2M19 9l3 6M22 9l-3 6",
  camera: "M3 7h12v10H3zM15 10l6-3v10l-6-3",
  cameraOff: "M3 7h12v10H3zM15 10l6-3v10l-6-3M3 3l18 18",
  screen: "M3 4h18v12H3zM8 20h8M12 16v4",
  smile: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8.5 14a4 4 0 0 0 7 0M9 9.5h.01M15 9.5h.01",
  hand: "M7 11V6a1.5 1.5 0 0 1 3 0v5M10 10V4.5a1.5 1.5 0 0 1 3 0V10M13 10V5.5a1.5 1.5 0 0 1 3 0V12M16 9a1.5 1.5 0 0 1 3 0v5a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-3l-2.5-4.5a1.5 1.5 0 0 1 2.5-1.5L7 14",
  people:
    "M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM2 20a7 7 0 0 1 14 0M16 4.3a3.5 3.5 0 0 1 0 6.4M18 14a7 7 0 0 1 4 6",
  grid: "M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z",
  spotlight: "M3 4h13v16H3zM18 4h3v4h-3zM18 10h3v4h-3zM18 16h3v4h-3z",
  pip: "M3 5h18v14H3zM12 12h7v5h-7z",
  switchCamera: "M4 8h3l2-3h6l2 3h3v11H4zM9 13a3 3 0 0 1 5.5-1.5M15 13a3 3 0 0 1-5.5 1.5M14.5 9v2.5H12M9.5 17v-2.5H12",
  pin: "M9 3h6l-1 6 4 4H6l4-4zM12 13v8",
  close: "M5 5l14 14M19 5L5 19",
  check: "M4 12l5 5L20 6",
  sun: "M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM12 1v3M12 20v3M4.2 4.2l2.1 2.1M17.7 17.7l2.1 2.1M1 12h3M20 12h3M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1",
  moon: "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z",
  phone: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z",
};

export type IconName = keyof typeof PATHS;

export function Icon({ name }: { name: IconName }) {
  return (
    <svg class="icon-svg" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
      <path
        d={PATHS[name]}
        fill="none"
        stroke="currentColor"
        stroke-width="1.8"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
