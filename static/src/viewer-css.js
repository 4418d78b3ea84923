/**
 * A mounted viewer's styles. In the page's bundle there are none here: the page links app.css,
 * which holds the same rules. The standalone viewer bundle (static/dist/viewer.js) is built with
 * this module replaced by the viewer's CSS as text (static/build.mjs): `shadowCss` for its
 * shadow root (the page's `body` and `:root` rules rewritten for the viewer's frame) and
 * `fontCss`, KaTeX's @font-face rules with the fonts as data: URLs, for the document.
 */
export const shadowCss = null;
export const fontCss = null;
