// The Node peer of `cargo xtask bench` (docs/PERFORMANCE.md): what a Node
// team would deploy instead of wxmp for the same two routes — the
// `wechat-jssdk` package behind Express, its default (file-backed, in
// memory) store, one process. The benchmark starts it against wxmp-sim and
// loads it exactly like wxmp-host, so "≥ 3× the Node peer" is measured in
// the same run on the same machine.
//
// Environment (set by wxmp-bench): PEER_LISTEN (host:port), WECHAT_API
// (wxmp-sim's base URL), APP_ID, APP_SECRET, SERVER_TOKEN, STORE_FILE.
'use strict';

const express = require('express');
const { Wechat } = require('wechat-jssdk');

const [host, port] = (process.env.PEER_LISTEN || '127.0.0.1:3990').split(':');
const api = process.env.WECHAT_API || 'http://127.0.0.1:3999';

const wx = new Wechat({
  appId: process.env.APP_ID,
  appSecret: process.env.APP_SECRET,
  wechatToken: process.env.SERVER_TOKEN,
  wechatRedirectUrl: `http://${host}:${port}/oauth/callback`,
  accessTokenUrl: `${api}/cgi-bin/token`,
  ticketUrl: `${api}/cgi-bin/ticket/getticket`,
  storeOptions: { fileStorePath: process.env.STORE_FILE || 'wechat-info.json' },
});

const app = express();

app.get('/healthz', (_req, res) => res.send('ok'));

// wx.config's signature for the page in ?url= (what wxmp's /jssdk/config answers).
app.get('/jssdk/config', (req, res) => {
  const url = req.query.url;
  if (typeof url !== 'string' || !url) {
    res.status(400).json({ error: 'missing url' });
    return;
  }
  wx.jssdk
    .getSignature(url)
    .then((sig) =>
      res.json({
        appId: process.env.APP_ID,
        timestamp: sig.timestamp,
        nonceStr: sig.nonceStr,
        signature: sig.signature,
      }),
    )
    .catch((err) => res.status(502).json({ error: String(err && err.errmsg || err) }));
});

// WeChat's server URL verification (what wxmp's GET /wx answers).
app.get('/wx', (req, res) => {
  if (wx.jssdk.verifySignature(req.query)) {
    res.type('text/plain').send(String(req.query.echostr || ''));
  } else {
    res.status(403).send('bad signature');
  }
});

app.listen(Number(port), host);
