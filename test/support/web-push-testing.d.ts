// Types for the parts of web-push-testing (https://github.com/marc1706/web-push-testing) the tests use.
declare module 'web-push-testing/src/PushApiModel.js' {
  export class PushApiModel {}
}
declare module 'web-push-testing/src/server.js' {
  import type { Server } from 'node:http';
  import type { PushApiModel } from 'web-push-testing/src/PushApiModel.js';

  /** The mock push service: `POST /subscribe`, `POST /notify/:clientHash`, `POST /get-notifications`. */
  class WebPushTestingServer {
    constructor(model: PushApiModel, port: number);
    startServer(): void;
    _server: Server;
  }
  export = WebPushTestingServer;
}
