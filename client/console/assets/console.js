// The console's only script: refreshes the page's live sections from its JSON endpoint (same host) every
// few seconds, without a reload. Sections are server-rendered HTML fragments; a failed poll keeps the old.
/* global document, window, fetch */
(function () {
  'use strict';
  var endpoint = document.body && document.body.getAttribute('data-live');
  if (!endpoint) return;
  var PERIOD_MS = 5000;
  var stamp = document.createElement('span');
  stamp.className = 'stamp';
  var title = document.querySelector('.title');
  if (title) title.appendChild(stamp);

  function refresh() {
    fetch(endpoint, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign('/console/sign-in');
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body || !body.sections) return;
        Object.keys(body.sections).forEach(function (id) {
          var node = document.querySelector('[data-live-id="' + id + '"]');
          if (node && node.innerHTML !== body.sections[id]) node.innerHTML = body.sections[id];
        });
        stamp.textContent = 'updated ' + new Date().toLocaleTimeString();
        document.body.setAttribute('data-refreshed', String(Date.now()));
      })
      .catch(function () {
        stamp.textContent = 'offline, retrying';
      })
      .then(function () {
        window.setTimeout(refresh, document.hidden ? PERIOD_MS * 4 : PERIOD_MS);
      });
  }
  window.setTimeout(refresh, PERIOD_MS);
})();
