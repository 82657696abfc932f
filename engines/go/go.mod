module wfe/engines/go

go 1.24
