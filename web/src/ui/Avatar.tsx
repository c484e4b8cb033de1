// A user's picture, or their initials on a colour derived from their id.

export function Avatar({
  name,
  image,
  id,
  size = "md",
}: {
  name: string;
  image?: string;
  id: string;
  size?: "sm" | "md" | "lg";
}) {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) % 360;
  const initials = name
    .split(/\s+/)
    .map((w) => w[0] ?? "")
    .join("")
    .slice(0, 2)
    .toUpperCase();
  return image ? (
    <img class={`avatar ${size}`} src={image} alt={name} />
  ) : (
    <span class={`avatar ${size}`} style={{ background: `hsl(${hash} 55% 45%)` }} aria-hidden="true">
      {initials}
    </span>
  );
}
