"""What the cleanup function does on its schedules (`periodic` composes the steps): each minute,
start due recurring runs (`recurring`), release due delayed jobs (`delayed`) and reconcile dead
letters (`dead_letters`); each night, apply retention (`retention`)."""
