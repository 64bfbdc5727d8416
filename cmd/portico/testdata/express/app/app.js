// An Express app as users deploy it to Lambda behind an HTTP API. Its
// routes are mounted at / (payload 2.0) and /v1 (payload 1.0).
const path = require('path');
const express = require('express');
const serverlessExpress = require('@codegenie/serverless-express');

const routes = express.Router();
routes.get('/hello', (req, res) => res.json({ hello: 'world' }));
// What the app sees of a percent-encoded path.
routes.get('/echo/*', (req, res) => res.json({ path: req.path, url: req.url }));
routes.get('/file', (req, res) => res.sendFile(path.join(__dirname, 'public', 'page.html')));
routes.get('/empty', (req, res) => res.status(204).end());
routes.use(express.static(path.join(__dirname, 'public')));

const app = express();
app.use('/v1', routes);
app.use('/', routes);

exports.handler = serverlessExpress({ app });
