// Renders the math that pymdownx.arithmatex (generic mode) leaves in .arithmatex elements as
// \( ... \) inline and \[ ... \] (or a bare \begin{...} environment) in display blocks, with
// the site's own copy of KaTeX. Only those elements are touched, so a "$" in prose or code is
// never mistaken for math. A formula KaTeX cannot parse is logged with console.error (the
// browser test fails on it) and left as its source text.
//
// Mermaid needs nothing here: Material renders ```mermaid fences itself with the global
// `mermaid` (loaded from assets/vendor before this file) and fetches one from a CDN only when
// that global is missing.
(function () {
  "use strict";

  const INLINE = /^\\\(([\s\S]*)\\\)$/;
  const DISPLAY = /^\\\[([\s\S]*)\\\]$/;

  function renderMath(root) {
    if (typeof katex === "undefined") {
      console.error("bertprep: KaTeX is not loaded; math stays as source");
      return;
    }
    for (const element of root.querySelectorAll(".arithmatex:not([data-katex])")) {
      const source = element.textContent.trim();
      const display = element.tagName !== "SPAN";
      const match = (display ? DISPLAY : INLINE).exec(source);
      const tex = match ? match[1] : source;
      try {
        katex.render(tex, element, { displayMode: display, throwOnError: true });
        element.setAttribute("data-katex", "ok");
      } catch (error) {
        element.setAttribute("data-katex", "error");
        console.error(`bertprep: KaTeX could not render ${JSON.stringify(source)}: ${error}`);
      }
    }
  }

  // Material's document$ emits each time a page's content is in place (once per load here,
  // as instant loading is off); fall back to DOMContentLoaded if the theme script is missing.
  if (typeof document$ !== "undefined") {
    document$.subscribe(({ body }) => renderMath(body));
  } else {
    document.addEventListener("DOMContentLoaded", () => renderMath(document.body));
  }
})();
