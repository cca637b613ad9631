// Caseload secure messaging: live updates and read marks (MSG-2). Every page works without
// this file: messages are sent with a plain form and show on the next load.
//
// The server pushes small events over a websocket ("message", "unread", "read") that carry
// ids and counts, never message text. A new message is then fetched over HTTP, through the
// same checks as the page itself. Messages are marked read only once they are on screen in a
// visible, focused page.
(function () {
  "use strict";

  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  var SIGNED_OUT = 4401;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function conversationFor(id) {
    return UUID.test(id) ? document.querySelector('[data-conversation="' + id + '"]') : null;
  }

  function listOf(conversation) { return conversation.querySelector("[data-message-list]"); }

  function lastMessageId(conversation) {
    var items = conversation.querySelectorAll("[data-message]");
    return items.length ? items[items.length - 1].getAttribute("data-message") : "";
  }

  function scrollToEnd(list) { list.scrollTop = list.scrollHeight; }

  function nearEnd(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 60; }

  // Badges ---------------------------------------------------------------------------------
  function setUnread(id, count) {
    if (!UUID.test(id) || typeof count !== "number") { return; }
    document.querySelectorAll('[data-unread-for="' + id + '"]').forEach(function (badge) {
      badge.textContent = count ? count + " unread message" + (count === 1 ? "" : "s") : "";
      badge.classList.toggle("badge", count > 0);
      badge.classList.toggle("badge-unread", count > 0);
      badge.hidden = count === 0;
    });
  }

  // Read marks -----------------------------------------------------------------------------
  function onScreen(conversation) {
    return document.visibilityState === "visible" && document.hasFocus() &&
      conversation.caseloadOnScreen === true;
  }

  function markReadIfSeen(conversation) {
    if (!conversation.isConnected || conversation.caseloadMarking || !onScreen(conversation)) { return; }
    var unread = conversation.querySelectorAll("[data-message][data-unread]");
    if (!unread.length) { return; }
    var through = unread[unread.length - 1].getAttribute("data-message");
    var body = new FormData();
    body.append("through", through);
    conversation.caseloadMarking = true;
    fetch(conversation.getAttribute("data-read-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json", "X-Caseload-Background": "1" }
    }).then(function (response) {
      if (response.redirected) { window.location.reload(); return; }
      if (!response.ok) { return; }
      var done = false;
      conversation.querySelectorAll("[data-message]").forEach(function (item) {
        if (done) { return; }
        item.removeAttribute("data-unread");
        done = item.getAttribute("data-message") === through;
      });
      if (!conversation.querySelector("[data-message][data-unread]")) {
        var form = conversation.querySelector("[data-mark-read-form]");
        if (form) { form.hidden = true; }
      }
    }).catch(function () { /* the "Mark as read" button still works */ }).then(function () {
      conversation.caseloadMarking = false;
      if (conversation.querySelector("[data-message][data-unread]")) { markReadIfSeen(conversation); }
    });
  }

  function markAllSeen() { document.querySelectorAll("[data-conversation]").forEach(markReadIfSeen); }

  // New messages ---------------------------------------------------------------------------
  function append(conversation, html) {
    var list = listOf(conversation);
    if (!list) { return; }
    var follow = nearEnd(list);
    var template = document.createElement("template");
    template.innerHTML = html;
    var added = false;
    template.content.querySelectorAll("[data-message]").forEach(function (item) {
      var id = item.getAttribute("data-message");
      if (UUID.test(id) && !list.querySelector('[data-message="' + id + '"]')) {
        list.appendChild(item);
        added = true;
      }
    });
    if (added) {
      var empty = conversation.querySelector("[data-no-messages]");
      if (empty) { empty.hidden = true; }
      if (follow) { scrollToEnd(list); }
    }
  }

  function refresh(conversation) {
    var list = listOf(conversation);
    if (!list) { return; }  // nothing readable here (e.g. not signed up yet)
    // An earlier page (opened by a "Show earlier" link without JavaScript) doesn't grow at
    // its end: the newest messages are a "Show the latest messages" link away.
    if (list.hasAttribute("data-earlier-page")) { return; }
    if (conversation.caseloadLoading) { conversation.caseloadAgain = true; return; }
    conversation.caseloadLoading = true;
    var url = conversation.getAttribute("data-messages-url");
    var last = lastMessageId(conversation);
    fetch(url + (last ? "?after=" + encodeURIComponent(last) : ""), {
      credentials: "same-origin",
      headers: { "X-Caseload-Background": "1" }
    }).then(function (response) {
      if (response.redirected) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html) { append(conversation, html); }
    }).catch(function () { /* shown on the next load */ }).then(function () {
      conversation.caseloadLoading = false;
      if (conversation.caseloadAgain) {
        conversation.caseloadAgain = false;
        refresh(conversation);
      } else {
        markReadIfSeen(conversation);
      }
    });
  }

  function showRead(conversation, ids) {
    if (!Array.isArray(ids)) { return; }
    ids.forEach(function (id) {
      if (!UUID.test(id)) { return; }
      var state = conversation.querySelector('[data-message="' + id + '"] [data-read-state]');
      if (state) { state.textContent = "Read"; }
    });
  }

  // Conversations on the page --------------------------------------------------------------
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var conversation = entry.target.closest("[data-conversation]");
      if (!conversation) { return; }
      conversation.caseloadOnScreen = entry.isIntersecting &&
        (entry.intersectionRatio >= 0.25 || entry.intersectionRect.height >= 80);
      markReadIfSeen(conversation);
    });
  }, { threshold: [0, 0.25, 0.5, 1] }) : null;

  function setUp(conversation) {
    if (conversation.caseloadReady) { return false; }
    conversation.caseloadReady = true;
    var list = listOf(conversation);
    if (list) {
      scrollToEnd(list);
      if (observer) { observer.observe(list); }
    }
    var text = conversation.querySelector(".message-form textarea");
    if (text) {
      text.addEventListener("keydown", function (event) {
        // Ctrl+Enter (⌘+Enter) sends; Enter alone starts a new line.
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && text.form) {
          event.preventDefault();
          text.form.requestSubmit();
        }
      });
    }
    return true;
  }

  function setUpAll() {
    var fresh = [];
    document.querySelectorAll("[data-conversation]").forEach(function (conversation) {
      if (setUp(conversation)) { fresh.push(conversation); }
    });
    return fresh;
  }

  document.addEventListener("DOMContentLoaded", setUpAll);
  document.addEventListener("visibilitychange", markAllSeen);
  window.addEventListener("focus", markAllSeen);

  // After htmx replaced a conversation (a message sent) or a whole profile (a client opened).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    var sent = target && target.hasAttribute && target.hasAttribute("data-conversation");
    setUpAll().forEach(function (conversation) {
      if (!sent) { return; }
      refresh(conversation);  // anything that arrived while the answer was on its way
      var text = conversation.querySelector(".message-form textarea");
      if (text) { text.focus(); }
    });
  });

  // "Show earlier messages" ----------------------------------------------------------------
  // htmx replaces the control with the page before it (its own control, then the messages),
  // above the messages on screen: keep those where they were, and don't read the older ones
  // out as if they had just arrived. Focus moves to the new control (htmx: same id), or to
  // the list once the first message is shown.
  var earlier = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail || {};
    var target = detail.target;
    var control = detail.shouldSwap && target && target.hasAttribute &&
      target.hasAttribute("data-show-earlier") ? target : null;
    var list = control ? control.closest("[data-message-list]") : null;
    earlier = list ? { list: list, fromEnd: list.scrollHeight - list.scrollTop, live: list.getAttribute("aria-live") } : null;
    if (earlier) { list.setAttribute("aria-live", "off"); }
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (!earlier) { return; }
    var done = earlier;
    earlier = null;
    done.list.scrollTop = done.list.scrollHeight - done.fromEnd;
    if (!done.list.querySelector("[data-show-earlier]") && document.activeElement === document.body) {
      done.list.focus({ preventScroll: true });  // the first message: nothing earlier to show
    }
    window.setTimeout(function () {
      if (done.live) { done.list.setAttribute("aria-live", done.live); }
    }, 0);
  });

  // The live channel -----------------------------------------------------------------------
  var meta = document.querySelector('meta[name="caseload-live-events"]');
  var delay = 1000;
  var dropped = false;

  function handle(event) {
    if (!event || typeof event.conversation !== "string") { return; }
    var conversation = conversationFor(event.conversation);
    if (event.event === "message" && conversation) {
      refresh(conversation);
    } else if (event.event === "unread") {
      setUnread(event.conversation, event.count);
    } else if (event.event === "read" && conversation) {
      showRead(conversation, event.messages);
    }
  }

  function connect() {
    var socket;
    try {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + meta.getAttribute("content"));
    } catch (error) {
      return;
    }
    socket.addEventListener("open", function () {
      delay = 1000;
      if (dropped) {
        // Events sent while the socket was down are gone: catch up over HTTP.
        document.querySelectorAll("[data-conversation]").forEach(refresh);
      }
    });
    socket.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      handle(event);
    });
    socket.addEventListener("close", function (closed) {
      if (closed.code === SIGNED_OUT) { return; }
      dropped = true;
      window.setTimeout(connect, delay + Math.floor(Math.random() * 500));
      delay = Math.min(delay * 2, 30000);
    });
  }

  if (meta && "WebSocket" in window) { connect(); }
})();
