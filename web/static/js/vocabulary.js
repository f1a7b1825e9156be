// The closed vocabularies of the API (gusp/states.py) with their French labels, and date formats.

export const STATUSES = {
  nouveau: "Nouveau",
  pris_en_compte: "Pris en compte",
  en_cours: "En cours de traitement",
  resolu: "Résolu",
  clos: "Clos",
  rejete: "Rejeté",
};

export const OPEN_STATUSES = ["nouveau", "pris_en_compte", "en_cours"];

// The one transition table (gusp/states.py TRANSITIONS); the server decides, this only fills menus.
export const TRANSITIONS = {
  nouveau: ["pris_en_compte", "resolu", "rejete"],
  pris_en_compte: ["en_cours", "resolu", "rejete"],
  en_cours: ["resolu", "rejete"],
  resolu: ["clos", "pris_en_compte"],
  rejete: ["nouveau"],
  clos: [],
};

export const PARTNER_STATUSES = ["en_cours", "resolu"];

export const PRIORITIES = { basse: "Basse", normale: "Normale", haute: "Haute", urgente: "Urgente" };

export const REASONS = {
  hors_competence: "Hors compétence",
  doublon: "Doublon",
  non_fonde: "Non fondé",
  hors_perimetre: "Hors périmètre",
  autre: "Autre",
};

export const SOURCES = { web: "Page web", agent: "Agent de terrain", api: "API", open311: "Open311" };

export const ROLES = {
  coordinateur: "Coordination GUSP",
  admin: "Administration",
  partenaire: "Partenaire",
  groupe: "Groupe opérationnel",
  agent: "Agent de terrain",
};

export const EVENT_KINDS = {
  created: "Signalement reçu",
  status_changed: "Statut modifié",
  assigned: "Affecté",
  category_changed: "Catégorie modifiée",
  priority_changed: "Priorité modifiée",
  commented: "Commentaire",
  merged: "Rattaché à un autre signalement",
  duplicate_attached: "Doublon rattaché",
  photo_hidden: "Photo masquée au public",
  photo_shown: "Photo de nouveau visible du public",
  published: "Description et photos publiées",
  photos_purged: "Photos effacées (durée de conservation échue)",
  photo_blurred: "Zone floutée",
};

const TIME_ZONE = "Europe/Paris";
const dateTime = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short", timeZone: TIME_ZONE });
const shortDate = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeZone: TIME_ZONE });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "");
export const formatDate = (iso) => (iso ? shortDate.format(new Date(iso)) : "");

export function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} Mo`;
  return `${Math.max(1, Math.round(bytes / 1024))} Ko`;
}

export function formatDistance(metres) {
  return metres >= 1000
    ? `${(metres / 1000).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} km`
    : `${Math.round(metres)} m`;
}

/** Where a report was attributed, in words. */
export function attributionText(attribution) {
  if (attribution?.quartier) return attribution.quartier.nom;
  if (attribution?.nearest_quartier) {
    const distance = attribution.distance_m != null ? ` (à ${formatDistance(attribution.distance_m)})` : "";
    return `Hors des quartiers prioritaires — le plus proche : ${attribution.nearest_quartier.nom}${distance}`;
  }
  return "Hors des quartiers prioritaires";
}
