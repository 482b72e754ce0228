/*
 * wxmp.js — log in with WeChat and initialise the JS-SDK on pages served
 * with wxmp. No dependencies. Use it as a plain script (it sets
 * `window.wxmp`) or as an ES module from `/wxmp.mjs`.
 *
 *   wxmp.login({ scope: 'snsapi_userinfo', returnTo: '/shop' })
 *   const me = await wxmp.me()            // profile, or null when logged out
 *   await wxmp.logout()
 *   await wxmp.configure({ jsApiList: ['updateAppMessageShareData'] })  // resolves on wx.ready
 *   wxmp.loginError()                      // 'access_denied', '40163', ... after a failed login
 *   wxmp.snapshotUser()                    // true when WeChat showed this page as a snapshot
 */
(function (root) {
  'use strict';

  // WeChat on iOS checks the JS-SDK signature against the URL the page was
  // first opened with; Android checks the current URL. Capture the landing
  // URL before anything (pushState, or the clean-up below) changes it.
  var landingUrl = location.href.split('#')[0];
  // Where wxmp is mounted (e.g. '/wechat'): wxmp fills this line in when it
  // serves the file; wxmp.init({ base }) overrides it.
  var base = '';
  var lastLoginError = null;

  // Back from /oauth/callback with ?wxmp_error=...: remember it and remove it
  // from the address bar, so reloads and Back do not show it again.
  (function takeLoginError() {
    var url = new URL(location.href);
    if (!url.searchParams.has('wxmp_error')) return;
    lastLoginError = url.searchParams.get('wxmp_error');
    url.searchParams.delete('wxmp_error');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  })();

  function WxmpError(code, message, status) {
    var e = new Error(message || code);
    e.name = 'WxmpError';
    e.code = code;
    e.status = status || 0;
    return e;
  }

  function isIOS() {
    return /iPhone|iPad|iPod/i.test(navigator.userAgent);
  }

  function signingUrl() {
    return isIOS() ? landingUrl : location.href.split('#')[0];
  }

  function request(path, init) {
    return fetch(base + path, Object.assign({ credentials: 'same-origin', headers: { accept: 'application/json' } }, init));
  }

  function failure(res) {
    return res.json().then(
      function (b) { return WxmpError(b.error || 'http_' + res.status, b.message, res.status); },
      function () { return WxmpError('http_' + res.status, res.statusText, res.status); }
    );
  }

  var wxmp = {
    /**
     * Where wxmp is mounted, e.g. { base: '/wechat' }. Rarely needed: the
     * script knows the mount it was served from.
     */
    init: function (options) {
      if (options && typeof options.base === 'string') base = options.base.replace(/\/$/, '');
      return wxmp;
    },

    /** Sends the browser through WeChat's login; comes back to returnTo (default: here). */
    login: function (options) {
      var o = options || {};
      var q = new URLSearchParams();
      q.set('scope', o.scope || 'snsapi_base');
      // Absolute, so a path means this site's page, not one below wxmp's mount.
      q.set('return_to', new URL(o.returnTo || location.href, location.href).href);
      location.assign(base + '/oauth/login?' + q.toString());
    },

    /** The logged-in user's profile, or null when there is no session. */
    me: function () {
      return request('/api/me').then(function (res) {
        if (res.status === 401) return null;
        if (!res.ok) return failure(res).then(function (e) { throw e; });
        return res.json();
      });
    },

    /** Ends the session. */
    logout: function () {
      return request('/api/logout', { method: 'POST' }).then(function (res) {
        if (!res.ok) return failure(res).then(function (e) { throw e; });
      });
    },

    /** Why the last login came back without a session (null if it did not fail). */
    loginError: function () {
      return lastLoginError;
    },

    /**
     * True when the last login came back from WeChat's snapshot page
     * (快照页): WeChat gave a virtual user, so there is no session. Ask the
     * user to tap "使用完整服务" (use the full page) and log in again.
     */
    snapshotUser: function () {
      return lastLoginError === 'snapshot_user';
    },

    /** The URL the JS-SDK signature must cover on this device. */
    signingUrl: signingUrl,

    /**
     * Signs this page through wxmp and calls wx.config. Resolves when
     * wx.ready fires, rejects with WeChat's errMsg when wx.error does.
     * Call it again after a SPA route change.
     */
    configure: function (options) {
      var o = options || {};
      var wx = o.wx || root.wx;
      if (!wx || typeof wx.config !== 'function') {
        return Promise.reject(WxmpError('no_jssdk', 'load jweixin-1.6.0.js before wxmp.configure()'));
      }
      return request('/jssdk/config?url=' + encodeURIComponent(signingUrl())).then(function (res) {
        if (!res.ok) return failure(res).then(function (e) { throw e; });
        return res.json();
      }).then(function (c) {
        return new Promise(function (resolve, reject) {
          var settled = false;
          wx.config({
            debug: !!o.debug,
            appId: c.appId,
            timestamp: c.timestamp,
            nonceStr: c.nonceStr,
            signature: c.signature,
            jsApiList: o.jsApiList || [],
            openTagList: o.openTagList || []
          });
          wx.ready(function () {
            if (!settled) { settled = true; resolve(c); }
          });
          wx.error(function (res) {
            if (!settled) { settled = true; reject(WxmpError('jssdk', (res && res.errMsg) || 'wx.config failed')); }
          });
        });
      });
    }
  };

  root.wxmp = wxmp;
})(typeof window !== 'undefined' ? window : globalThis);
