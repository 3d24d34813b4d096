-- 000_…, 二.5: 实行每日24小时服务接待,值班联系电话告知各位业主. A desk open around the clock
-- keeps no hours (desk_opens_min and desk_closes_min are then 0 and not read), and the
-- desk's published duty phone (the estate's public number, digits only).
ALTER TABLE estates
  ADD COLUMN desk_24h    boolean NOT NULL DEFAULT false,
  ADD COLUMN duty_phone  text    NOT NULL DEFAULT '';
