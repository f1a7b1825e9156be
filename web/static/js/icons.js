// Category icons (the `icon` of data/categories.json), drawn as simple strokes; decorative only:
// the category's label always stands next to its icon.

const PATHS = {
  dechets: "M3 6h18M8 6V4h8v2M6 6l1 14h10l1-14M10 10v7M14 10v7",
  encombrants: "M4 11V8a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v3M2 11h20v6H2zM4 17v3M20 17v3",
  tags: "M9 8h6v13H9zM10 8V5h4v3M12 5V3M17 4h1M19 6h1M17 8h1",
  eclairage: "M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5V16h8v-2.5A6 6 0 0 0 12 3z",
  voirie: "M4 21L8 3M20 21L16 3M12 5v3M12 11v3M12 17v3",
  espaces_verts: "M12 22v-6M12 3l-6 9h3l-3 4h12l-3-4h3z",
  aires_de_jeux: "M4 21V6l8-3 8 3v15M4 9h16M9 9v6M15 9v6M8 15h2M14 15h2",
  mobilier: "M3 10h18M3 14h18M5 14v5M19 14v5M5 10V7M19 10V7",
  stationnement: "M3 12l2-5h14l2 5v5H3zM7 17v2M17 17v2M6.5 13.5h1M16.5 13.5h1",
  parties_communes: "M4 21V3h16v18M9 21v-6h6v6M8 7h2M14 7h2M8 11h2M14 11h2",
  ascenseur: "M5 3h14v18H5zM9 10l3-3 3 3M9 14l3 3 3-3",
  nuisibles: "M8 9a4 4 0 0 1 8 0v5a4 4 0 0 1-8 0zM12 9v9M4 10l4 1M20 10l-4 1M4 17l4-2M20 17l-4-2M9 5L7 3M15 5l2-2",
  eau: "M12 3s6 7 6 11a6 6 0 0 1-12 0c0-4 6-11 6-11z",
  tranquillite: "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z",
  autre: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.7v.5M12 17h.01",
};

export function categoryIcon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", PATHS[name] || PATHS.autre);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
