// The course matrix opens at the latest held session: scroll its column into view with a few
// sessions after it, so a long term does not open at week one. The name column stays (sticky).
(function () {
  "use strict";
  const wrap = document.querySelector(".matrix-wrap");
  const latest = document.getElementById("latest-held");
  if (!wrap || !latest || location.hash) return;
  const box = wrap.getBoundingClientRect();
  const column = latest.getBoundingClientRect();
  const beyond = column.right + 3 * column.width - box.right;
  if (beyond > 0) wrap.scrollLeft += beyond;
})();
