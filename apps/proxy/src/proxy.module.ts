import { Module } from '@nestjs/common';
import { ProxyStateStore } from '@davpush/storage';
import { ChangeNotifier } from './changes/change.notifier';
import { OutOfBandChanges } from './changes/out-of-band.service';
import { TokenReadReporter } from './changes/token-read.reporter';
import { PropfindRewriter } from './discovery/propfind-rewriter.service';
import { Forwarder } from './http/forwarder';
import { ProxyIdentity } from './identity/proxy-identity.service';
import { ProxyServer } from './proxy.server';
import { CcSubscribeHandler } from './registrations/cc-subscribe.handler';
import { PushRegisterHandler } from './registrations/push-register.handler';
import { UpstreamClient } from './upstream/upstream.client';
import { UpstreamMonitor } from './upstream/upstream.monitor';

/**
 * Proxy mode (docs/proxy.md): the WebDAV-Push reverse proxy in front of one CalDAV/CardDAV server.
 * Needs CoreModule (config with `proxy` set, stores, queues, gateways, use cases). Its server starts
 * listening on DAVPUSH_PROXY_PORT when the application boots.
 */
@Module({
  providers: [
    UpstreamClient,
    UpstreamMonitor,
    ProxyStateStore,
    ProxyIdentity,
    TokenReadReporter,
    ChangeNotifier,
    OutOfBandChanges,
    Forwarder,
    PropfindRewriter,
    PushRegisterHandler,
    CcSubscribeHandler,
    ProxyServer,
  ],
  exports: [ProxyServer],
})
export class ProxyModule {}
