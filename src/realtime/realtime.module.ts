import { Module } from '@nestjs/common';

/** Realtime hub and its two transports (raw WebSocket at /ws/realtime/, Socket.IO namespace /realtime). */
@Module({})
export class RealtimeModule {}
