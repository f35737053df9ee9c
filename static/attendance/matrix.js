// The course matrix opens at the latest held session: scroll its column into view (just left of
// the sticky name column), so a long term does not start at week one.
(function () {
  "use strict";
  const wrap = document.querySelector(".matrix-wrap");
  const latest = document.getElementById("latest-held");
  if (!wrap || !latest || location.hash) return;
  const names = wrap.querySelector("th.corner");
  const sticky = names ? names.offsetWidth : 0;
  const target = latest.offsetLeft + latest.offsetWidth - wrap.clientWidth;
  wrap.scrollLeft = Math.max(0, Math.max(target + 48, latest.offsetLeft - sticky - 48 * 6));
})();
