import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { User } from './entities/user.entity';
import { SessionService } from './session.service';

@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [SessionService],
  exports: [SessionService],
})
export class AuthModule {}
