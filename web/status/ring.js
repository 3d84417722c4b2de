/**
 * Draws the ring as SVG: one arc per member, its length the member's share of the Maglev table,
 * and, while a version is only Prepared, the previous version's members as a dimmed inner ring
 * (the layout still serving until Committed). DOM APIs only: member names are data.
 */

const SVG = 'http://www.w3.org/2000/svg';
/** Radii of the current ring's band and the previous version's inner band, in viewBox units. */
const OUTER = { from: 72, to: 100 };
const INNER = { from: 48, to: 62 };
const LABEL_RADIUS = 118;
/** Colours cycle through this many CSS classes (`slice-N` in app.css, light and dark). */
const PALETTE_SIZE = 8;

/**
 * Replaces the content of `svg` with the ring of `ring` (a StatusView's `ring`, or null) and
 * sets its accessible name.
 * @param {SVGSVGElement} svg
 * @param {null | { version: number | null, state: string | null,
 *   members: { name: string, share: number }[], previous: { version: number, members: string[] } | null }} ring
 */
export function drawRing(svg, ring) {
  svg.replaceChildren();
  if (ring === null || ring.version === null) {
    svg.setAttribute('aria-label', 'Ring: no valid ring document');
    svg.append(circleBand(OUTER, 'empty'), centreText('no ring', ''));
    return;
  }
  const members = ring.members;
  const label = `Ring v${ring.version}: ${members.length} member${members.length === 1 ? '' : 's'}`;
  const previous = ring.state === 'Prepared' && ring.previous ? ring.previous : null;
  svg.setAttribute(
    'aria-label',
    previous ? `${label}; previous v${previous.version}: ${previous.members.length}` : label,
  );
  if (members.length === 0) svg.append(circleBand(OUTER, 'empty'));
  let start = 0;
  members.forEach((member, i) => {
    const end = start + member.share;
    svg.append(arc({ band: OUTER, start, end, index: i, title: `${member.name}: ${percent(member.share)}` }));
    svg.append(arcLabel(member.name, (start + end) / 2));
    start = end;
  });
  if (previous) {
    const n = previous.members.length;
    previous.members.forEach((name, i) => {
      const title = `${name} (v${previous.version})`;
      svg.append(arc({ band: INNER, start: i / n, end: (i + 1) / n, index: i, title, dimmed: true }));
    });
  }
  svg.append(centreText(`v${ring.version}`, ring.state ?? ''));
}

/** A share as a percentage with two decimals, as `imring status` prints it. */
export function percent(share) {
  return `${(share * 100).toFixed(2)}%`;
}

/** One annular sector from fraction `start` to `end` of the circle, clockwise from the top. */
function arc({ band, start, end, index, title, dimmed = false }) {
  const element = svgElement('path', {
    d: end - start >= 0.9999 ? fullBand(band) : sector(band, start, end),
    class: `slice slice-${index % PALETTE_SIZE}${dimmed ? ' previous' : ''}`,
  });
  const tooltip = svgElement('title', {});
  tooltip.textContent = title;
  element.append(tooltip);
  return element;
}

function sector(band, start, end) {
  const large = end - start > 0.5 ? 1 : 0;
  const [a, b, c, d] = [point(band.to, start), point(band.to, end), point(band.from, end), point(band.from, start)];
  return [
    `M ${a}`,
    `A ${band.to} ${band.to} 0 ${large} 1 ${b}`,
    `L ${c}`,
    `A ${band.from} ${band.from} 0 ${large} 0 ${d}`,
    'Z',
  ].join(' ');
}

/** A whole band: two half circles each way, since one SVG arc cannot close on itself. */
function fullBand(band) {
  const half = (r, sweep) => `M 0 ${-r} A ${r} ${r} 0 1 ${sweep} 0 ${r} A ${r} ${r} 0 1 ${sweep} 0 ${-r} Z`;
  return `${half(band.to, 1)} ${half(band.from, 0)}`;
}

function circleBand(band, className) {
  return svgElement('path', { d: fullBand(band), class: className, 'fill-rule': 'evenodd' });
}

function arcLabel(name, fraction) {
  const [x, y] = coordinates(LABEL_RADIUS, fraction);
  const text = svgElement('text', {
    x: x.toFixed(1),
    y: y.toFixed(1),
    class: 'label',
    'text-anchor': Math.abs(x) < 10 ? 'middle' : x > 0 ? 'start' : 'end',
    'dominant-baseline': 'middle',
  });
  text.textContent = name;
  return text;
}

function centreText(first, second) {
  const group = svgElement('g', { class: 'centre' });
  const big = svgElement('text', { x: '0', y: '-4', 'text-anchor': 'middle', class: 'centre-version' });
  big.textContent = first;
  const small = svgElement('text', { x: '0', y: '14', 'text-anchor': 'middle', class: 'centre-state' });
  small.textContent = second;
  group.append(big, small);
  return group;
}

function point(radius, fraction) {
  const [x, y] = coordinates(radius, fraction);
  return `${x.toFixed(2)} ${y.toFixed(2)}`;
}

/** Fraction 0 is the top of the circle; fractions grow clockwise. */
function coordinates(radius, fraction) {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return [radius * Math.cos(angle), radius * Math.sin(angle)];
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}
