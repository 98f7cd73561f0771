/**
 * Keyword lexicon of the mini world: English words -> world features (colours, object counts,
 * texture, size). Any prompt maps to world parameters: known words set them, unknown words only
 * add their hash code (layout randomness) and count as words. Word choice came from the most
 * frequent words of COCO captions, PartiPrompts and T2I-CompBench (docs/mini-world.md §2).
 */
import { C_LEX, FEATURE, rgbToLatent } from "./world-spec";

type Rgb = readonly [number, number, number];

export interface WordEntry {
  /** Object colour and how strongly this word sets it (colour adjectives 1, nouns 0.3). */
  obj?: Rgb;
  objWeight?: number;
  /** Background (scene) colour; weight 1 unless given. */
  bg?: Rgb;
  bgWeight?: number;
  count?: number;
  /** An explicit number ("two"): the count when present. */
  num?: number;
  texture?: number;
  fine?: number;
  smooth?: number;
  size?: number;
}

const C: Record<string, Rgb> = {
  red: [0.85, 0.12, 0.1],
  green: [0.15, 0.65, 0.2],
  blue: [0.12, 0.3, 0.85],
  yellow: [0.95, 0.85, 0.15],
  orange: [0.95, 0.55, 0.1],
  purple: [0.55, 0.2, 0.7],
  pink: [0.95, 0.5, 0.7],
  brown: [0.5, 0.32, 0.16],
  black: [0.06, 0.06, 0.07],
  white: [0.95, 0.95, 0.93],
  grey: [0.55, 0.55, 0.57],
  silver: [0.75, 0.76, 0.8],
  gold: [0.85, 0.68, 0.2],
  cyan: [0.2, 0.8, 0.85],
  beige: [0.86, 0.8, 0.66],
  sky: [0.45, 0.68, 0.95],
  water: [0.12, 0.38, 0.6],
  sand: [0.86, 0.76, 0.52],
  grass: [0.3, 0.6, 0.2],
  forest: [0.12, 0.35, 0.15],
  concrete: [0.5, 0.5, 0.52],
  indoor: [0.78, 0.72, 0.62],
  wood: [0.55, 0.38, 0.22],
  night: [0.05, 0.07, 0.18],
  skin: [0.85, 0.65, 0.5],
};

const colours: Record<string, WordEntry> = {};
for (const [w, rgb] of Object.entries({
  red: C.red,
  green: C.green,
  blue: C.blue,
  yellow: C.yellow,
  orange: C.orange,
  purple: C.purple,
  violet: C.purple,
  pink: C.pink,
  brown: C.brown,
  black: C.black,
  white: C.white,
  grey: C.grey,
  gray: C.grey,
  silver: C.silver,
  golden: C.gold,
  gold: C.gold,
  cyan: C.cyan,
  teal: C.cyan,
  beige: C.beige,
})) {
  colours[w] = { obj: rgb, objWeight: 1 };
}

/** Scene words: they set the background and most of the texture. */
const scenes: Record<string, WordEntry> = {
  sky: { bg: C.sky, smooth: 0.4 },
  ocean: { bg: C.water, texture: 0.3, fine: 0.3 },
  sea: { bg: C.water, texture: 0.3, fine: 0.3 },
  water: { bg: C.water, texture: 0.25, fine: 0.2 },
  lake: { bg: C.water, texture: 0.15 },
  river: { bg: C.water, texture: 0.3 },
  wave: { bg: C.water, texture: 0.5, fine: 0.3 },
  waves: { bg: C.water, texture: 0.6, fine: 0.3 },
  beach: { bg: C.sand, texture: 0.3, fine: 0.5 },
  sand: { bg: C.sand, texture: 0.5, fine: 0.8 },
  sandy: { bg: C.sand, texture: 0.4, fine: 0.6 },
  desert: { bg: C.sand, texture: 0.3, fine: 0.6 },
  grass: { bg: C.grass, texture: 0.8, fine: 0.8 },
  grassy: { bg: C.grass, texture: 0.7, fine: 0.7 },
  meadow: { bg: C.grass, texture: 0.7, fine: 0.6 },
  field: { bg: C.grass, texture: 0.6, fine: 0.5 },
  lawn: { bg: C.grass, texture: 0.5, fine: 0.6 },
  pasture: { bg: C.grass, texture: 0.5, fine: 0.5 },
  park: { bg: C.grass, texture: 0.5, fine: 0.3 },
  garden: { bg: C.grass, texture: 0.7, fine: 0.4, count: 2 },
  forest: { bg: C.forest, texture: 1.0, fine: 0.5 },
  woods: { bg: C.forest, texture: 0.9, fine: 0.5 },
  jungle: { bg: C.forest, texture: 1.2, fine: 0.6 },
  trees: { bg: C.forest, texture: 0.7, fine: 0.4 },
  leaves: { bg: C.forest, texture: 0.8, fine: 0.6 },
  city: { bg: C.concrete, texture: 1.0, fine: 0.3, count: 3 },
  street: { bg: C.concrete, texture: 0.5, fine: 0.2 },
  road: { bg: C.concrete, texture: 0.3, fine: 0.2 },
  town: { bg: C.concrete, texture: 0.8, fine: 0.3, count: 2 },
  buildings: { bg: C.concrete, texture: 0.8, count: 3, size: 0.5 },
  market: { bg: C.indoor, texture: 1.0, fine: 0.4, count: 8 },
  wall: { bg: C.beige, smooth: 0.6 },
  walls: { bg: C.beige, smooth: 0.5 },
  brick: { bg: [0.6, 0.28, 0.2], texture: 0.7, fine: 0.4 },
  room: { bg: C.indoor, texture: 0.2 },
  kitchen: { bg: C.indoor, texture: 0.4, count: 2 },
  bathroom: { bg: [0.88, 0.88, 0.86], texture: 0.1 },
  bedroom: { bg: C.indoor, texture: 0.2 },
  office: { bg: C.indoor, texture: 0.4, count: 2 },
  restaurant: { bg: C.indoor, texture: 0.6, count: 3 },
  floor: { bg: C.wood, texture: 0.1 },
  snow: { bg: C.white, texture: 0.2, fine: 0.6 },
  snowy: { bg: C.white, texture: 0.2, fine: 0.5 },
  night: { bg: C.night, smooth: 0.3 },
  sunset: { bg: [0.95, 0.5, 0.25], smooth: 0.5 },
  mountain: { bg: [0.45, 0.5, 0.6], texture: 0.5 },
  mountains: { bg: [0.45, 0.5, 0.6], texture: 0.6 },
  hill: { bg: C.grass, texture: 0.4 },
  space: { bg: C.black, fine: 0.5 },
  clouds: { bg: [0.8, 0.83, 0.88], texture: 0.3 },
  cloudy: { bg: [0.7, 0.73, 0.78], texture: 0.3 },
  rain: { texture: 0.6, fine: 1.0 },
  crowd: { count: 12, texture: 1.0, fine: 0.5 },
  graffiti: { texture: 0.9, fine: 0.3 },
  flowers: { count: 6, texture: 0.5, obj: C.pink, objWeight: 0.3 },
  zoo: { bg: C.grass, texture: 0.5, count: 2 },
  farm: { bg: C.grass, texture: 0.5 },
};

/** Object nouns: a count of 1 (plural 3), a default colour at weight 0.3, a size. */
const objects: [string, string | null, Rgb | null, number][] = [
  ["man", "men", C.skin, 0],
  ["woman", "women", C.skin, 0],
  ["person", "people", C.skin, 0],
  ["boy", "boys", C.skin, -0.3],
  ["girl", "girls", C.skin, -0.3],
  ["child", "children", C.skin, -0.4],
  ["kid", "kids", C.skin, -0.4],
  ["player", "players", C.skin, 0],
  ["dog", "dogs", C.brown, -0.2],
  ["cat", "cats", C.grey, -0.3],
  ["horse", "horses", C.brown, 0.3],
  ["cow", "cows", C.white, 0.3],
  ["sheep", null, C.white, 0],
  ["elephant", "elephants", C.grey, 0.8],
  ["giraffe", "giraffes", [0.85, 0.65, 0.3], 0.6],
  ["zebra", "zebras", C.white, 0.3],
  ["bear", "bears", C.brown, 0.4],
  ["bird", "birds", C.grey, -0.6],
  ["car", "cars", C.red, 0.2],
  ["bus", "buses", C.yellow, 0.8],
  ["train", "trains", C.grey, 0.8],
  ["truck", "trucks", C.white, 0.6],
  ["motorcycle", "motorcycles", C.black, 0],
  ["bike", "bikes", C.black, -0.2],
  ["bicycle", null, C.black, -0.2],
  ["airplane", "airplanes", C.white, 0.6],
  ["plane", "planes", C.white, 0.6],
  ["boat", "boats", C.white, 0.2],
  ["ball", "balls", C.red, -0.6],
  ["balloon", "balloons", C.red, -0.4],
  ["apple", "apples", C.red, -0.7],
  ["banana", "bananas", C.yellow, -0.6],
  ["pizza", "pizzas", [0.9, 0.6, 0.3], 0.2],
  ["cake", "cakes", C.white, -0.2],
  ["plate", "plates", C.white, -0.2],
  ["cup", "cups", C.white, -0.7],
  ["bowl", "bowls", C.white, -0.5],
  ["vase", null, C.blue, -0.5],
  ["clock", "clocks", C.white, -0.3],
  ["chair", "chairs", C.wood, -0.2],
  ["bench", "benches", C.wood, 0],
  ["table", "tables", C.wood, 0.4],
  ["umbrella", "umbrellas", C.black, 0],
  ["kite", "kites", C.red, -0.4],
  ["sign", "signs", C.red, -0.4],
  ["toilet", null, C.white, 0],
  ["laptop", null, C.grey, -0.3],
  ["phone", null, C.black, -0.8],
  ["book", "books", C.blue, -0.6],
  ["bottle", "bottles", C.green, -0.7],
  ["box", "boxes", C.brown, -0.3],
  ["tree", null, C.grass, 0.5],
  ["flower", null, C.pink, -0.6],
  ["house", "houses", C.white, 0.7],
  ["building", null, C.grey, 0.9],
  ["tower", null, C.grey, 0.8],
  ["statue", null, C.grey, 0.3],
  ["lamp", null, C.yellow, -0.5],
  ["bed", "beds", C.white, 0.6],
  ["couch", null, C.brown, 0.5],
  ["sofa", null, C.brown, 0.5],
  ["tv", null, C.black, 0],
  ["teddy", null, C.brown, -0.2],
  ["sun", null, C.yellow, 0],
  ["moon", null, C.white, -0.2],
  ["fish", null, C.orange, -0.5],
  ["sandwich", "sandwiches", C.beige, -0.3],
  ["donut", "donuts", C.brown, -0.6],
  ["egg", "eggs", C.white, -0.7],
  ["fruit", "fruits", C.orange, -0.6],
  ["skateboard", null, C.wood, -0.3],
  ["surfboard", null, C.white, 0],
  ["frisbee", null, C.white, -0.7],
  ["hat", null, C.black, -0.7],
  ["bag", null, C.brown, -0.5],
  ["car", null, C.red, 0.2],
];

const numbers: Record<string, WordEntry> = {
  one: { num: 1 },
  single: { num: 1 },
  two: { num: 2 },
  couple: { num: 2 },
  pair: { num: 2 },
  three: { num: 3 },
  four: { num: 4 },
  five: { num: 5 },
  six: { num: 6 },
  seven: { num: 7 },
  eight: { num: 8 },
  nine: { num: 9 },
  ten: { num: 10 },
  dozen: { num: 12 },
  several: { count: 3 },
  few: { count: 2 },
  many: { count: 6, texture: 0.2 },
  lots: { count: 6, texture: 0.2 },
  group: { count: 4 },
  bunch: { count: 4 },
  herd: { count: 6, texture: 0.2 },
  flock: { count: 8, texture: 0.2 },
  busy: { count: 4, texture: 0.8 },
  crowded: { count: 8, texture: 0.9 },
};

const modifiers: Record<string, WordEntry> = {
  detailed: { texture: 0.6, fine: 0.5 },
  intricate: { texture: 0.8, fine: 0.7 },
  textured: { texture: 0.7, fine: 0.5 },
  cluttered: { texture: 0.8, count: 4 },
  complex: { texture: 0.5 },
  rough: { texture: 0.4, fine: 0.4 },
  fluffy: { texture: 0.3, fine: 0.7 },
  furry: { texture: 0.3, fine: 0.7 },
  striped: { texture: 0.4, fine: 0.2 },
  patterned: { texture: 0.5 },
  mosaic: { texture: 0.8, fine: 0.6 },
  noisy: { texture: 0.6, fine: 1.0 },
  grainy: { texture: 0.4, fine: 1.2 },
  colorful: { texture: 0.4 },
  colourful: { texture: 0.4 },
  smooth: { smooth: 1 },
  plain: { smooth: 1 },
  empty: { smooth: 1 },
  minimal: { smooth: 1 },
  minimalist: { smooth: 1 },
  simple: { smooth: 0.6 },
  clean: { smooth: 0.6 },
  blank: { smooth: 1 },
  calm: { smooth: 0.5 },
  clear: { smooth: 0.5 },
  flat: { smooth: 0.5 },
  large: { size: 1 },
  big: { size: 1 },
  huge: { size: 1.5 },
  giant: { size: 1.5 },
  tall: { size: 0.6 },
  small: { size: -1 },
  little: { size: -0.8 },
  tiny: { size: -1.5 },
};

/** The full lexicon: word -> entry. Later groups override earlier ones on the same word. */
export function lexicon(): Map<string, WordEntry> {
  const out = new Map<string, WordEntry>();
  for (const [single, plural, rgb, size] of objects) {
    const base: WordEntry = { count: 1, size, ...(rgb ? { obj: rgb, objWeight: 0.3 } : {}) };
    out.set(single, base);
    if (plural) out.set(plural, { ...base, count: 3 });
  }
  for (const group of [scenes, numbers, modifiers, colours]) {
    for (const [w, e] of Object.entries(group)) out.set(w, { ...out.get(w), ...e });
  }
  return out;
}

/** A word's C_LEX text features (presence 1; colours converted to the latent opponent space). */
export function wordFeatures(e: WordEntry): Float32Array {
  const f = new Float32Array(C_LEX);
  f[FEATURE.presence] = 1;
  if (e.obj) {
    const w = e.objWeight ?? 1;
    const lab = rgbToLatent(...e.obj);
    for (let i = 0; i < 3; i++) f[FEATURE.objColor + i] = w * lab[i];
    f[FEATURE.objWeight] = w;
  }
  if (e.bg) {
    // Scene words weigh 0.6 so an explicit colour word for the scene (weight 1) wins.
    const w = e.bgWeight ?? 0.6;
    const lab = rgbToLatent(...e.bg);
    for (let i = 0; i < 3; i++) f[FEATURE.bgColor + i] = w * lab[i];
    f[FEATURE.bgWeight] = w;
  }
  f[FEATURE.count] = e.count ?? 0;
  if (e.num !== undefined) {
    f[FEATURE.numValue] = e.num;
    f[FEATURE.numWeight] = 1;
  }
  f[FEATURE.texture] = e.texture ?? 0;
  f[FEATURE.fine] = e.fine ?? 0;
  f[FEATURE.smooth] = e.smooth ?? 0;
  f[FEATURE.size] = e.size ?? 0;
  return f;
}
