/*
 * wxmp-sim's stand-in for WeChat's jweixin-1.6.0.js. wx.config sends the
 * signature to the simulator, which checks it against its current
 * jsapi_ticket as WeChat's client does: against the landing URL on iOS, the
 * current URL elsewhere. wx.ready or wx.error follow.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var sim = script ? new URL(script.src).origin : '';
  var landing = location.href.split('#')[0];
  var state = null;
  var readyFns = [];
  var errorFns = [];

  function ios() { return /iPhone|iPad|iPod/i.test(navigator.userAgent); }

  function settle(result) {
    state = result;
    var fns = result.ok ? readyFns : errorFns;
    fns.splice(0).forEach(function (f) { f(result.ok ? undefined : { errMsg: result.errMsg }); });
  }

  window.wx = {
    config: function (cfg) {
      state = null;
      readyFns = [];
      errorFns = [];
      var url = ios() ? landing : location.href.split('#')[0];
      var body = JSON.stringify({ appId: cfg.appId, timestamp: cfg.timestamp, nonceStr: cfg.nonceStr, signature: cfg.signature, url: url, jsApiList: cfg.jsApiList || [] });
      fetch(sim + '/__sim/jssdk/check', { method: 'POST', body: body })
        .then(function (r) { return r.json(); })
        .then(settle, function () { settle({ ok: false, errMsg: 'config:fail network' }); });
      if (cfg.debug) console.log('wx.config', cfg);
    },
    ready: function (f) { if (state && state.ok) f(); else readyFns.push(f); },
    error: function (f) { if (state && !state.ok) f({ errMsg: state.errMsg }); else errorFns.push(f); },
    checkJsApi: function (o) { if (o && o.success) o.success({ checkResult: {}, errMsg: 'checkJsApi:ok' }); }
  };
})();
